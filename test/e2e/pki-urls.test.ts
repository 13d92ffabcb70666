// Certificates never name port 0 (issue 22, item 7). A hub started with VITALGATE_API_PORT=0
// issues device certificates whose CRL and OCSP URLs name the port the API bound, and the CRL is
// fetched from that URL; with VITALGATE_PKI_PUBLIC_URL they name that URL; and while no URL a
// relying party can reach is known, the authority refuses to issue, and nothing is issued.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { x509 } from '../../pki/crypto-provider.js';
import { runCli } from '../support/cli.js';
import { createTestPki, makeCsr, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { ApiClient } from '../integration/api/harness.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function pointers(pem: string): { crl: string[]; ocsp: string[] } {
  const cert = new x509.X509Certificate(pem);
  const crl = cert.getExtension(x509.CRLDistributionPointsExtension);
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
  return {
    crl: (crl?.distributionPoints ?? []).flatMap(
      (p) => p.distributionPoint?.fullName?.map((n) => n.uniformResourceIdentifier ?? '') ?? [],
    ),
    ocsp: (aia?.ocsp ?? []).map((n) => String(n.value)),
  };
}

describe('a hub on VITALGATE_API_PORT=0', () => {
  it('issues certificates whose CRL and OCSP URLs name the bound port, and the CRL is there', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'vg-pki-urls-')), 'hub');
    cleanups.push(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));
    const env = { VITALGATE_DATA_DIR: dataDir, VITALGATE_API_PORT: '0' };
    const init = await runCli(['init', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    const hub: HubProcess = await startHubProcess(env);
    cleanups.push(() => hub.stop());
    const apiPort = hub.ready.apiPort!;
    expect(apiPort).toBeGreaterThan(0);

    expect((await runCli(['device', 'add', '--id', 'ox-port', '--kind', 'pulse_oximeter'], env)).code).toBe(
      0,
    );
    const token = await runCli(['device', 'token', 'ox-port', '--json'], env);
    expect(token.code, token.stderr).toBe(0);
    const { csrPem } = await makeCsr('ox-port');
    const client = new ApiClient(apiPort, readFileSync(join(dataDir, 'ca.pem'), 'utf8'));
    const enrolled = await client.request('POST', '/api/v1/enroll', {
      body: { token: (JSON.parse(token.stdout) as { token: string }).token, csr: csrPem },
    });
    expect(enrolled.status, enrolled.text).toBe(201);
    const certificate = (enrolled.body as { certificate: string }).certificate;
    const urls = pointers(certificate);
    expect(urls).toEqual({
      crl: [`https://localhost:${apiPort}/pki/crl`],
      ocsp: [`https://localhost:${apiPort}/pki/ocsp`],
    });
    expect(certificate).not.toContain(':0/');
    // A relying party reaches the CRL where the certificate says.
    const crl = await client.request('GET', new URL(urls.crl[0]!).pathname);
    expect(crl.status).toBe(200);
    expect(new x509.X509Crl(new Uint8Array(crl.raw)).issuer).toBe(
      new x509.X509Certificate(certificate).issuer,
    );
  }, 120_000);
});

describe('the certificate authority', () => {
  let pki: TestPki;
  afterAll(() => pki?.cleanup());

  it('refuses to issue while no reachable URL is known, then names the bound port', async () => {
    pki = await createTestPki({ VITALGATE_API_PORT: '0' });
    pki.store.devices.add({ id: 'ox-early', kind: 'pulse_oximeter', patientId: null });
    const { token } = pki.tokens.issue('ox-early', 3_600_000, 'test');
    const { csrPem } = await makeCsr('ox-early');
    await expect(pki.enrollment.enroll(token, csrPem)).rejects.toMatchObject({ code: 'PKI_URL_UNREACHABLE' });
    // Nothing was issued, the device is still pending, and its token was given back.
    expect(pki.store.certificates.listForDevice('ox-early')).toEqual([]);
    expect(pki.store.devices.get('ox-early')).toMatchObject({ status: 'pending', currentSerial: null });
    // The hub's own certificates made meanwhile carry no pointer rather than one to port 0.
    expect(pointers(pki.authority.serverTls().cert.split(/(?<=-----END CERTIFICATE-----)/)[0]!)).toEqual({
      crl: [],
      ocsp: [],
    });

    pki.authority.useApiPort(48443);
    const issued = await pki.enrollment.enroll(token, csrPem);
    expect(pointers(issued.certificatePem).crl).toEqual(['https://localhost:48443/pki/crl']);
  });

  it('names VITALGATE_PKI_PUBLIC_URL when it is set, and refuses one with port 0', async () => {
    const other = await createTestPki({
      VITALGATE_API_PORT: '0',
      VITALGATE_PKI_PUBLIC_URL: 'https://pki.clinic.example:9443/',
    });
    cleanups.push(() => other.cleanup());
    const dev = await other.issueDevice('ox-public', 'pulse_oximeter');
    expect(pointers(dev.certPem)).toEqual({
      crl: ['https://pki.clinic.example:9443/pki/crl'],
      ocsp: ['https://pki.clinic.example:9443/pki/ocsp'],
    });
    expect(() => loadConfig({ env: { VITALGATE_PKI_PUBLIC_URL: 'https://pki.clinic.example:0' } })).toThrow(
      /VITALGATE_PKI_PUBLIC_URL: expected a URL that names no port 0/,
    );
  });
});
