// Device certificates issued per second from pre-generated PEM CSRs (strict DER read, key gates,
// self-signature check, subject and extension gates, then build + sign), against the raw ECDSA
// P-256 sign rate measured in the same run as the ceiling. Prints one JSON line.
//   npx tsx bench/pki.ts [--n 500]
import { sign } from 'node:crypto';
import { parseArgs } from 'node:util';
import { asKeyObject, generateKeyPair, subtle, x509 } from '../pki/crypto-provider.js';
import { acceptDeviceCsr, deviceSanUri } from '../pki/csr.js';
import { issueCertificate, type PkiUrls } from '../pki/profiles.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '500' } } });
const n = Number(values.n);
if (!Number.isSafeInteger(n) || n < 1) throw new Error('--n must be a positive integer');

const urls: PkiUrls = { crl: 'https://localhost:8443/pki/crl', ocsp: 'https://localhost:8443/pki/ocsp' };
const rootKeys = await generateKeyPair('P-384');
const root = await issueCertificate({
  profile: 'root-ca',
  subject: 'Bench Root CA',
  publicKey: rootKeys.publicKey,
  issuerKey: rootKeys.privateKey,
});
const issuingKeys = await generateKeyPair('P-256');
const issuing = await issueCertificate({
  profile: 'issuing-ca',
  subject: 'Bench Issuing CA',
  publicKey: issuingKeys.publicKey,
  issuerCert: root.certificate,
  issuerKey: rootKeys.privateKey,
});

const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
const csrs = await Promise.all(
  ids.map(async (id) => {
    const keys = await generateKeyPair('P-256');
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: [id] }],
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(id) }])],
    });
    return csr.toString('pem');
  }),
);

async function rate(label: string, run: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await run(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i++) await run(i);
  const perSec = n / ((performance.now() - start) / 1000);
  if (!Number.isFinite(perSec)) throw new Error(`${label}: no time measured`);
  return perSec;
}

const tbsSized = new Uint8Array(560); // about the size of a device TBSCertificate
const algorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const rawEcdsaSignPerSec = await rate('webcrypto sign', () =>
  subtle.sign(algorithm, issuingKeys.privateKey, tbsSized),
);
const issuingKeyObject = asKeyObject(issuingKeys.privateKey);
const rawNodeSignPerSec = await rate('node sign', () =>
  sign('sha256', tbsSized, { key: issuingKeyObject, dsaEncoding: 'der' }),
);

const issueFrom = async (i: number) => {
  const accepted = await acceptDeviceCsr(csrs[i], ids[i]!);
  return issueCertificate({
    profile: 'device',
    subject: ids[i]!,
    publicKey: accepted.spki,
    issuerCert: issuing.certificate,
    issuerKey: issuingKeys.privateKey,
    urls,
  });
};
const certsPerSec = await rate('issue from CSR', issueFrom);
const csrGatesPerSec = await rate('CSR gates', (i) => acceptDeviceCsr(csrs[i], ids[i]!));
const accepted = await acceptDeviceCsr(csrs[0], ids[0]!);
const buildAndSignPerSec = await rate('build + sign', () =>
  issueCertificate({
    profile: 'device',
    subject: ids[0]!,
    publicKey: accepted.spki,
    issuerCert: issuing.certificate,
    issuerKey: issuingKeys.privateKey,
    urls,
  }),
);

// For comparison: the same work through @peculiar/x509 alone (CSR parse + WebCrypto verify,
// X509CertificateGenerator), the path this code replaced.
const libraryPerSec = await rate('library path', async (i) => {
  const request = new x509.Pkcs10CertificateRequest(csrs[i]!);
  if (!(await request.verify())) throw new Error('CSR did not verify');
  return x509.X509CertificateGenerator.create({
    subject: `CN=${ids[i]}`,
    issuer: issuing.certificate.subjectName,
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 90 * 86_400_000),
    publicKey: request.publicKey,
    signingKey: issuingKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2']),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuing.certificate),
      new x509.CRLDistributionPointsExtension([urls.crl]),
      new x509.AuthorityInfoAccessExtension({ ocsp: [urls.ocsp] }),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(ids[i]!) }]),
    ],
  });
});

const round = (x: number) => Math.round(x);
console.log(
  JSON.stringify({
    bench: 'pki',
    n,
    certsPerSec: round(certsPerSec),
    csrGatesPerSec: round(csrGatesPerSec),
    buildAndSignPerSec: round(buildAndSignPerSec),
    rawEcdsaSignPerSec: round(rawEcdsaSignPerSec),
    rawNodeSignPerSec: round(rawNodeSignPerSec),
    fractionOfRawSign: Number((certsPerSec / rawEcdsaSignPerSec).toFixed(3)),
    libraryPathCertsPerSec: round(libraryPerSec),
    node: process.version,
  }),
);
