// Device certificates issued per second from CSRs (CSR parse + key gate + signature check +
// sign), against the raw WebCrypto ECDSA P-256 sign rate as the ceiling. One JSON line.
//   npx tsx bench/pki.ts [--n 500]
import { parseArgs } from 'node:util';
import { acceptDeviceCsr } from '../pki/csr.js';
import { generateKeyPair, subtle } from '../pki/crypto-provider.js';
import { issueDeviceCertificate } from '../pki/profiles.js';
import { createTestPki, makeCsr } from '../test/support/hub-pki.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '500' } } });
const n = Number(values.n);
const pki = await createTestPki();
try {
  const csrs = await Promise.all(Array.from({ length: n }, (_, i) => makeCsr(`bench-${i}`)));
  const issuingKeys = await generateKeyPair();
  const data = new Uint8Array(200);

  let start = performance.now();
  for (let i = 0; i < n; i++)
    await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, issuingKeys.privateKey, data);
  const rawSignPerSec = n / ((performance.now() - start) / 1000);

  // Through the authority: gates, signing and recording in SQLite.
  start = performance.now();
  for (let i = 0; i < n; i++) {
    const accepted = await acceptDeviceCsr(csrs[i]!.csrPem, `bench-${i}`);
    pki.store.devices.add({ id: `bench-${i}`, kind: 'wearable' });
    await pki.authority.issueDeviceCertificate(`bench-${i}`, accepted);
  }
  const certsPerSec = n / ((performance.now() - start) / 1000);

  // The CSR gates alone (parse, key quality, signature, subject, extensions).
  start = performance.now();
  for (let i = 0; i < n; i++) await acceptDeviceCsr(csrs[i]!.csrPem, `bench-${i}`);
  const csrChecksPerSec = n / ((performance.now() - start) / 1000);

  // Building and signing the certificate alone.
  const accepted = await acceptDeviceCsr(csrs[0]!.csrPem, 'bench-0');
  start = performance.now();
  for (let i = 0; i < n; i++) {
    await issueDeviceCertificate({
      deviceId: 'bench-0',
      publicKey: accepted.publicKey,
      issuer: { certificate: pki.authority.issuingCertificate, key: issuingKeys.privateKey },
      urls: pki.authority.urls(),
      validityDays: 90,
      now: Date.now(),
    });
  }
  const signOnlyPerSec = n / ((performance.now() - start) / 1000);

  console.log(
    JSON.stringify({
      bench: 'pki',
      n,
      certsPerSec: Math.round(certsPerSec),
      csrChecksPerSec: Math.round(csrChecksPerSec),
      certificateBuildAndSignPerSec: Math.round(signOnlyPerSec),
      rawEcdsaSignPerSec: Math.round(rawSignPerSec),
      fractionOfCeiling: Number((certsPerSec / rawSignPerSec).toFixed(3)),
      node: process.version,
    }),
  );
} finally {
  pki.cleanup();
}
