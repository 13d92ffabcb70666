// Live lifecycle enforcement over real mutual TLS: revoke, disable, quarantine and wipe end the
// live session within a second and refuse the device from then on, without a restart; the CRL in
// the TLS context is swapped in place (openssl s_client sees it), and TLS session tickets issued
// before a revocation stop working. Also the limits that end a session.
import { createPrivateKey } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandPublisher } from '../../../broker/commands.js';
import { buildRevocationList } from '../../../pki/crl.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { runPeer, writeFiles } from '../../support/openssl.js';
import { eventually, refusalCodes } from './harness.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let commands: CommandPublisher;
let lifecycle: DeviceLifecycle;

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki, {
    VITALGATE_DEVICE_MESSAGES_PER_SECOND: '20',
    VITALGATE_MAX_PAYLOAD_BYTES: '2048',
  });
  commands = new CommandPublisher(broker.broker, pki.authority.commandSigner(), pki.store.audit, {
    ttlMs: 1_000,
  });
  lifecycle = new DeviceLifecycle(pki.store, pki.authority, { kicker: broker.broker, commander: commands });
});
afterAll(async () => {
  commands.close();
  await broker.stop();
  pki.cleanup();
});

/** openssl s_client over TLS 1.2 with a device certificate; returns its whole output. */
async function sClient(creds: DeviceCredentials, extra: string[] = []): Promise<string> {
  const f = writeFiles({ 'ca.pem': creds.caPem, 'cert.pem': creds.certPem, 'key.pem': creds.keyPem });
  const r = await runPeer(
    'openssl',
    [
      ...['s_client', '-tls1_2', '-connect', `127.0.0.1:${broker.port}`, '-servername', 'localhost'],
      ...['-CAfile', f['ca.pem']!, '-cert', f['cert.pem']!, '-key', f['key.pem']!, ...extra],
    ],
    '',
    10_000,
  );
  return r.stdout + r.stderr;
}

/** A TLS 1.3 handshake with Node's client: whether it resumed, and a session to resume later. */
async function tlsSession(creds: DeviceCredentials, session?: Buffer) {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: broker.port,
    servername: 'localhost',
    minVersion: 'TLSv1.3',
    ca: creds.caPem,
    cert: creds.certPem,
    key: creds.keyPem,
    ...(session ? { session } : {}),
  });
  // TLS 1.3 tickets come after the handshake; the first one will do.
  const next = new Promise<Buffer>((resolve, reject) => {
    socket.once('session', resolve);
    socket.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const reused = socket.isSessionReused();
  const ticket = reused ? undefined : await next;
  socket.destroy();
  return { reused, session: ticket };
}

async function sessionEndsWithin(creds: DeviceCredentials, act: () => Promise<unknown>): Promise<number> {
  const client = await connectDevice(broker.port, creds, creds.deviceId);
  const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
  const t0 = performance.now();
  await act();
  const elapsed = (await closed) - t0;
  client.end(true);
  return elapsed;
}

describe('revocation of a connected device', () => {
  it('closes its session in under a second, refuses the reconnect, and fails the TLS handshake', async () => {
    const dev = await pki.issueDevice('wear-9', 'wearable');
    const elapsed = await sessionEndsWithin(dev, () =>
      lifecycle.apply('wear-9', 'revoke', 'reported stolen', 'user:ops'),
    );
    expect(elapsed).toBeLessThan(1_000);
    expect(broker.broker.isConnected('wear-9')).toBe(false);
    expect(pki.store.audit.list({ action: 'broker.kick', target: 'device:wear-9' })[0]?.details).toEqual({
      cause: 'revoke',
    });
    expect(
      pki.store.audit.list({ action: 'broker.disconnect', target: 'device:wear-9' })[0]?.details,
    ).toEqual({
      cause: 'kicked:revoke',
    });

    // The CRL in the TLS context was swapped in place: the reconnect fails in the handshake.
    await expect(connectDevice(broker.port, dev, 'wear-9')).rejects.toThrow();
    await eventually(() => expect(refusalCodes(pki)).toContain('CERTIFICATE_REVOKED'));

    // Node verifies the client certificate at the end of the handshake and drops the connection
    // when it fails: openssl s_client sees the peer hang up instead of a session. Another
    // device's certificate still completes it.
    const good = await pki.issueDevice('wear-10', 'wearable');
    const accepted = await sClient(good);
    expect(accepted).toMatch(/Cipher is ECDHE-ECDSA-AES(128|256)-GCM/);
    expect(accepted).not.toMatch(/unexpected eof/);
    expect(await sClient(dev)).toMatch(/unexpected eof while reading/);
  });

  it('a TLS session resumed with a ticket from before a CRL change gets a full handshake instead', async () => {
    const dev = await pki.issueDevice('wear-11', 'wearable');
    const other = await pki.issueDevice('wear-12', 'wearable');
    const { dir } = writeFiles({});
    const session = `${dir}/session.pem`;
    expect(await sClient(dev, ['-sess_out', session])).toMatch(/New, TLSv1\.2/);
    expect(await sClient(dev, ['-sess_in', session])).toMatch(/Reused, TLSv1\.2/); // tickets work
    await lifecycle.apply('wear-12', 'revoke', 'key compromised', 'user:ops'); // a new CRL
    const after = await sClient(dev, ['-sess_in', session]);
    expect(after).toMatch(/New, TLSv1\.2/);
    expect(after).not.toMatch(/Reused/);
    // ...so a revoked device cannot skip the CRL check by resuming.
    await sClient(other, ['-sess_out', session]);
    expect(await sClient(other, ['-sess_in', session])).toMatch(/unexpected eof while reading/);
  });

  it('TLS 1.3 sessions resume too, until the next CRL change', async () => {
    const dev = await pki.issueDevice('wear-13', 'wearable');
    const first = await tlsSession(dev);
    expect(first.reused).toBe(false);
    const again = await tlsSession(dev, first.session);
    expect(again.reused).toBe(true);
    expect(broker.broker.updateCrl(pki.authority.tlsRevocationPem())).toBe(true); // a CRL change
    expect((await tlsSession(dev, first.session)).reused).toBe(false);
  });

  it('disable and quarantine end the session within a second too, and enable lets it back in', async () => {
    const dev = await pki.issueDevice('ox-8', 'pulse_oximeter');
    for (const action of ['disable', 'quarantine'] as const) {
      const elapsed = await sessionEndsWithin(dev, () =>
        lifecycle.apply('ox-8', action, 'investigating', 'user:ops'),
      );
      expect(elapsed).toBeLessThan(1_000);
      await expect(connectDevice(broker.port, dev, 'ox-8')).rejects.toThrow(/Not authorized/i);
      expect(refusalCodes(pki, 'ox-8')).toContain('DEVICE_NOT_ACTIVE');
      await lifecycle.apply('ox-8', 'enable', 'cleared', 'user:ops');
    }
    const back = await connectDevice(broker.port, dev, 'ox-8');
    await back.endAsync();
  });

  it('without a CRL for every CA on the chain, no device connects and a critical refusal is stored', async () => {
    const dev = await pki.issueDevice('ox-nocrl', 'pulse_oximeter');
    const [issuingCrl] = pki.authority.tlsRevocationPem();
    expect(broker.broker.updateCrl([issuingCrl!])).toBe(true); // the root's CRL is gone
    await expect(connectDevice(broker.port, dev, 'ox-nocrl')).rejects.toThrow();
    await eventually(() =>
      expect(pki.store.securityEvents.list({ kind: 'connection_refused' })[0]).toMatchObject({
        severity: 'critical',
        details: { code: 'CRL_UNAVAILABLE', cause: 'UNABLE_TO_GET_CRL' },
      }),
    );
    expect(broker.broker.isConnected('ox-nocrl')).toBe(false);
    expect(broker.broker.updateCrl(pki.authority.tlsRevocationPem())).toBe(true);
    const client = await connectDevice(broker.port, dev, 'ox-nocrl');
    await client.endAsync();
  });

  it('a root CRL that lists the issuing CA refuses its devices, though TLS stops at the issuing CA', async () => {
    const dev = await pki.issueDevice('ox-ca-revoked', 'pulse_oximeter');
    const material = pki.store.pkiMaterial.get('root')!;
    const rootKey = createPrivateKey({
      key: pki.keyring.openSecret('pki:root', material.sealedKey),
      format: 'der',
      type: 'pkcs8',
    });
    const rootCrl = await buildRevocationList({
      issuer: { certificate: pki.authority.rootCertificate, key: rootKey },
      number: 99,
      entries: [
        {
          serial: pki.authority.issuingCertificate.serialNumber,
          revokedAt: Date.now(),
          reason: 'cACompromise',
        },
      ],
      now: Date.now(),
      validityMs: 3_600_000,
    });
    const [issuingCrl] = pki.authority.tlsRevocationPem();
    expect(broker.broker.updateCrl([issuingCrl!, rootCrl.pem])).toBe(true);
    await expect(connectDevice(broker.port, dev, 'ox-ca-revoked')).rejects.toThrow();
    await eventually(() =>
      expect(pki.store.securityEvents.list({ kind: 'connection_refused' })[0]?.details).toEqual({
        code: 'CERTIFICATE_REVOKED',
        cause: 'CERT_REVOKED',
      }),
    );
    expect(broker.broker.updateCrl(pki.authority.tlsRevocationPem())).toBe(true);
    const client = await connectDevice(broker.port, dev, 'ox-ca-revoked');
    await client.endAsync();
  });

  it('a CRL that cannot be loaded leaves the previous context in force and raises a critical event', async () => {
    const dev = await pki.issueDevice('ox-crl', 'pulse_oximeter');
    expect(broker.broker.updateCrl('-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n')).toBe(
      false,
    );
    expect(pki.store.securityEvents.list({ kind: 'tls_update_failed' })[0]).toMatchObject({
      severity: 'critical',
    });
    const client = await connectDevice(broker.port, dev, 'ox-crl');
    await client.endAsync();
    expect(broker.broker.updateCrl(pki.authority.tlsRevocationPem())).toBe(true);
  });

  it('kick() of a device without a session is a no-op', () => {
    expect(broker.broker.kick('nobody', 'revoke')).toBe(false);
  });
});

describe('limits', () => {
  it('a packet over the size limit ends the connection and reaches nothing', async () => {
    const dev = await pki.issueDevice('scale-2', 'weight_scale');
    const client = await connectDevice(broker.port, dev, 'scale-2');
    const before = broker.intake.accepted.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.publish('devices/scale-2/telemetry', 'x'.repeat(10_000), { qos: 1 });
    await closed;
    client.end(true);
    expect(broker.intake.accepted.length).toBe(before);
    expect(pki.store.securityEvents.list({ kind: 'packet_too_large', deviceId: 'scale-2' })).toHaveLength(1);
    expect(
      pki.store.audit.list({ action: 'broker.disconnect', target: 'device:scale-2' })[0]?.details,
    ).toEqual({
      cause: 'packet_too_large',
    });
  });

  it('a flood past the message rate is cut off', async () => {
    const dev = await pki.issueDevice('therm-1', 'thermometer');
    const client = await connectDevice(broker.port, dev, 'therm-1');
    const before = broker.intake.accepted.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    for (let i = 0; i < 200; i++) client.publish('devices/therm-1/telemetry', `{"n":${i}}`, { qos: 1 });
    await closed;
    client.end(true);
    const accepted = broker.intake.accepted.length - before;
    expect(accepted).toBeLessThanOrEqual(41); // the burst allowance (2 s at 20 msg/s)
    expect(
      pki.store.securityEvents.list({ kind: 'message_rate_exceeded', deviceId: 'therm-1' }),
    ).toHaveLength(1);
  });

  it('a device that keeps violating the ACL is quarantined', async () => {
    const dev = await pki.issueDevice('gluc-1', 'glucometer');
    for (let session = 0; session < 4; session++) {
      const client = await connectDevice(broker.port, dev, 'gluc-1').catch(() => undefined);
      if (!client) break;
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      for (let i = 0; i < 3; i++) client.publish('devices/other/telemetry', '{}', { qos: 1 });
      await closed;
      client.end(true);
    }
    expect(pki.store.devices.require('gluc-1').status).toBe('quarantined');
    expect(pki.store.securityEvents.list({ kind: 'device_quarantined', deviceId: 'gluc-1' })).toHaveLength(1);
    await expect(connectDevice(broker.port, dev, 'gluc-1')).rejects.toThrow(/Not authorized/i);
  });
});
