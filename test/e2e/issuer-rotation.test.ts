// `vitalgate ca rotate-issuer` the way an operator runs it: refused while the hub runs; with the
// hub stopped, a new issuing CA; after the restart devices of the old and the new issuing CA both
// publish with mosquitto_pub, a revoked old-issuer device stays refused (openssl verify
// -crl_check on the CRL served at the old certificates' URL too), renewal over mutual TLS yields a
// new-issuer certificate, and VG-PKI-012 fails near the overlap's end until the device renewed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../core/store/control-plane.js';
import { x509 } from '../../pki/crypto-provider.js';
import { runCli } from '../support/cli.js';
import { makeCsr } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { runPeer, verifyAgainstCrl, writeFiles } from '../support/openssl.js';
import { ApiClient } from '../integration/api/harness.js';

const root = mkdtempSync(join(tmpdir(), 'vg-issuer-rotation-'));
const dataDir = join(root, 'hub');
const env = { VITALGATE_DATA_DIR: dataDir };
let hub: HubProcess | undefined;
afterAll(async () => {
  await hub?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Device {
  id: string;
  keyPem: string;
  certPem: string;
  /** The trust bundle the device got at enrollment. */
  caPem: string;
}

const issuerCn = (pem: string) => /CN=([^,]+)/.exec(new x509.X509Certificate(pem).issuer)?.[1];
const client = () => new ApiClient(hub!.ready.apiPort!, readFileSync(join(dataDir, 'ca.pem'), 'utf8'));

async function enroll(id: string): Promise<Device> {
  expect((await runCli(['device', 'add', '--id', id, '--kind', 'pulse_oximeter'], env)).code).toBe(0);
  const token = await runCli(['device', 'token', id, '--json'], env);
  expect(token.code, token.stderr).toBe(0);
  const { keyPem, csrPem } = await makeCsr(id);
  const reply = await client().request('POST', '/api/v1/enroll', {
    body: { token: (JSON.parse(token.stdout) as { token: string }).token, csr: csrPem },
  });
  expect(reply.status, reply.text).toBe(201);
  const body = reply.body as { certificate: string; caBundle: string };
  return { id, keyPem, certPem: body.certificate, caPem: body.caBundle };
}

function publish(device: Device) {
  const f = writeFiles({ 'ca.pem': device.caPem, 'cert.pem': device.certPem, 'key.pem': device.keyPem });
  return runPeer('mosquitto_pub', [
    ...['-h', 'localhost', '-p', String(hub!.ready.mqttPort), '-V', 'mqttv311', '-q', '1', '-i', device.id],
    ...['--cafile', f['ca.pem']!, '--cert', f['cert.pem']!, '--key', f['key.pem']!],
    ...[
      '-t',
      `devices/${device.id}/telemetry`,
      '-m',
      JSON.stringify({
        v: 1,
        seq: Date.now(),
        ts: Date.now(),
        readings: [{ type: 'spo2', value: 97, unit: '%' }],
      }),
    ],
  ]);
}

async function check012(): Promise<{ status: string; evidence: string }> {
  const result = await runCli(['check', '--json'], env);
  const report = JSON.parse(result.stdout) as { results: { id: string; status: string; evidence: string }[] };
  return report.results.find((r) => r.id === 'VG-PKI-012')!;
}

describe('vitalgate ca rotate-issuer', () => {
  it('rotates the issuing CA with an overlap in which devices of both issuers work', async () => {
    const help = await runCli(['ca', 'rotate-issuer', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--overlap-days');

    expect((await runCli(['init', '--json'], env)).code).toBe(0);
    hub = await startHubProcess(env);
    const old = await enroll('ox-old');
    const stolen = await enroll('ox-stolen');
    expect(issuerCn(old.certPem)).toBe('VitalGate Issuing CA');
    expect((await publish(old)).status).toBe(0);
    const revoke = await runCli(['device', 'revoke', 'ox-stolen', '--reason', 'stolen'], env);
    expect(revoke.code, revoke.stderr).toBe(0);

    // Refused while the hub runs, and nothing changes.
    const issuingBefore = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
    const running = await runCli(['ca', 'rotate-issuer'], env);
    expect(running.code).not.toBe(0);
    expect(running.stderr).toMatch(/HUB_RUNNING|the hub is running/);
    expect(readFileSync(join(dataDir, 'ca.pem'), 'utf8')).toBe(issuingBefore);
    const badOverlap = await runCli(['ca', 'rotate-issuer', '--overlap-days', 'soon'], env);
    expect(badOverlap.code).not.toBe(0);
    expect(badOverlap.stderr).toContain('--overlap-days');

    await hub.stop();
    hub = undefined;
    const rotated = await runCli(['ca', 'rotate-issuer', '--overlap-days', '10', '--json'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const summary = JSON.parse(rotated.stdout) as { issuing: string; previous: string; overlapUntil: string };
    expect(Date.parse(summary.overlapUntil)).toBeGreaterThan(Date.now() + 9 * 86_400_000);
    const store = ControlPlane.open(dataDir);
    try {
      expect(store.audit.list({ action: 'pki.issuer.rotate' })[0]).toMatchObject({ outcome: 'success' });
    } finally {
      store.close();
    }
    hub = await startHubProcess(env);

    // Both issuers' devices publish; the old device uses the bundle it got before the rotation.
    const fresh = await enroll('ox-new');
    expect(issuerCn(fresh.certPem)).toBe('VitalGate Issuing CA G2');
    const oldRun = await publish(old);
    expect(oldRun.stderr).toBe('');
    expect(oldRun.status).toBe(0);
    expect((await publish(fresh)).status).toBe(0);
    expect((await publish(stolen)).status).not.toBe(0);

    // The CRL at the old certificates' URL (the bare one) lists the stolen device; the new
    // issuer's CRL is at its own URL; an unknown issuer is a coded 404.
    const bare = await client().request('GET', '/pki/crl?format=pem');
    const mine = await client().request('GET', `/pki/crl?issuer=${summary.issuing}&format=pem`);
    const unknown = await client().request('GET', '/pki/crl?issuer=abcdef');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'CRL_ISSUER_UNKNOWN' } });
    const bundle = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
    const [issuingG2, issuingG1, rootPem] = bundle.match(
      /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
    )!;
    const oldChain = `${issuingG1}\n${rootPem}\n`;
    const newChain = `${issuingG2}\n${rootPem}\n`;
    expect(verifyAgainstCrl(oldChain, bare.text, stolen.certPem)).toContain('certificate revoked');
    expect(verifyAgainstCrl(oldChain, bare.text, old.certPem)).toContain(': OK');
    expect(verifyAgainstCrl(newChain, mine.text, fresh.certPem)).toContain(': OK');

    // Ten days of overlap is inside VG-PKI-012's window: it fails while ox-old is on the old issuer.
    const before = await check012();
    expect(before.status).toBe('fail');
    expect(before.evidence).toContain('ox-old');

    // Renewal over mutual TLS with the old-issuer certificate yields a new-issuer certificate.
    const next = await makeCsr('ox-old');
    const renewed = await client().request('POST', '/api/v1/enroll/renew', {
      body: { csr: next.csrPem },
      cert: old.certPem,
      key: old.keyPem,
    });
    expect(renewed.status, renewed.text).toBe(201);
    const renewedPem = (renewed.body as { certificate: string }).certificate;
    expect(issuerCn(renewedPem)).toBe('VitalGate Issuing CA G2');
    expect((await publish({ ...old, keyPem: next.keyPem, certPem: renewedPem })).status).toBe(0);
    expect((await check012()).status).toBe('pass');
  }, 360_000);
});
