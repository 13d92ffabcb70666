// The device listener over real mutual TLS: who may connect, with which coded refusal, and that a
// refusal leaves nothing granted (no session, nothing at the intake) and is audited.
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1, startTestBroker } from '../../support/broker.js';
import { createTestPki, makeCsr, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { runPeer, writeFiles } from '../../support/openssl.js';
import { eventually, refusalCodes, reissueWithValidity, ScriptedIntake } from './harness.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let ox: DeviceCredentials;
const intake = new ScriptedIntake();
const envelope = JSON.stringify({
  v: 1,
  seq: 1,
  ts: Date.now(),
  readings: [{ type: 'spo2', value: 97, unit: '%' }],
});
const DAY = 86_400_000;

beforeAll(async () => {
  // No renewal grace: a renewed device's old certificate is refused at once.
  pki = await createTestPki({ VITALGATE_RENEWAL_GRACE_SECONDS: '0' });
  broker = await startTestBroker(pki);
  broker.broker.setIntake(intake);
  ox = await pki.issueDevice('ox-1', 'pulse_oximeter');
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
});

/** Refused, audited with `code`, and nothing granted. */
async function expectRefused(creds: DeviceCredentials, clientId: string, code: string, message: RegExp) {
  const before = intake.telemetry.length;
  await expect(connectDevice(broker.port, creds, clientId)).rejects.toThrow(message);
  await eventually(() => expect(refusalCodes(pki, creds.deviceId)).toContain(code));
  expect(broker.broker.isConnected(creds.deviceId)).toBe(false);
  expect(intake.telemetry.length).toBe(before);
}

/** Refused by TLS itself, audited as an anonymous peer with `code`. */
async function expectHandshakeRefused(creds: Partial<DeviceCredentials>, code: string) {
  const before = refusalCodes(pki).filter((c) => c === code).length;
  await expect(
    connectDevice(broker.port, { caPem: ox.caPem, keyPem: '', certPem: '', ...creds }, 'ox-1', {
      key: creds.keyPem,
      cert: creds.certPem,
    }),
  ).rejects.toThrow();
  await eventually(() => expect(refusalCodes(pki).filter((c) => c === code)).toHaveLength(before + 1));
  expect(broker.broker.isConnected('ox-1')).toBe(false);
}

describe('a device with a hub-issued certificate', () => {
  it('connects, publishes to its telemetry topic and gets its PUBACK after the intake took it', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    expect(broker.broker.liveSessions()).toMatchObject([{ deviceId: 'ox-1', serial: ox.serial }]);
    await publishQos1(client, 'devices/ox-1/telemetry', envelope);
    await client.endAsync();
    expect(intake.telemetry).toContainEqual({ deviceId: 'ox-1', payload: envelope });
    expect(
      pki.store.audit.list({ action: 'broker.connect', target: 'device:ox-1', outcome: 'success' })[0]
        ?.details,
    ).toEqual({ serial: ox.serial });
    await eventually(() =>
      expect(
        pki.store.audit.list({ action: 'broker.disconnect', target: 'device:ox-1' })[0]?.details,
      ).toEqual({
        cause: 'closed',
      }),
    );
  });

  it('is served to mosquitto_pub with the same certificate', async () => {
    const f = writeFiles({ 'ca.pem': ox.caPem, 'cert.pem': ox.certPem, 'key.pem': ox.keyPem });
    const before = intake.telemetry.length;
    const result = await runPeer('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-i', 'ox-1'],
      ...['--cafile', f['ca.pem']!, '--cert', f['cert.pem']!, '--key', f['key.pem']!],
      ...['-t', 'devices/ox-1/telemetry', '-m', envelope],
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(intake.telemetry.length).toBe(before + 1);
  });

  it('may leave a last will on its own status topic; it reaches the intake when the device drops off', async () => {
    const will = {
      topic: 'devices/ox-1/status',
      payload: Buffer.from('{"v":1,"online":false}'),
      qos: 1 as const,
    };
    const client = await connectDevice(broker.port, ox, 'ox-1', { will });
    const before = intake.status.length;
    client.stream.destroy(); // no DISCONNECT: the network went away
    await eventually(() => expect(intake.status.length).toBe(before + 1));
    expect(intake.status.at(-1)).toEqual({ deviceId: 'ox-1', payload: '{"v":1,"online":false}' });
    client.end(true);
  });
});

describe('refused at the identity gate (CONNACK code only), audited with the reason', () => {
  it('client id different from the certificate CN', async () => {
    await expectRefused(ox, 'someone-else', 'CLIENT_ID_MISMATCH', /Identifier rejected/i);
  });

  it('a pending device (registered, certificate present, status not active)', async () => {
    const dev = await pki.issueDevice('ox-pending', 'pulse_oximeter');
    pki.store.devices.setStatus('ox-pending', 'pending', null);
    await expectRefused(dev, 'ox-pending', 'DEVICE_NOT_ACTIVE', /Not authorized/i);
  });

  it('a quarantined device', async () => {
    const dev = await pki.issueDevice('ox-q', 'pulse_oximeter');
    pki.store.devices.setStatus('ox-q', 'quarantined', 'test');
    await expectRefused(dev, 'ox-q', 'DEVICE_NOT_ACTIVE', /Not authorized/i);
  });

  it('a certificate that is no longer the device’s current one (renewed, no grace left)', async () => {
    const dev = await pki.issueDevice('ox-renewed', 'pulse_oximeter');
    const { keyPem, csrPem } = await makeCsr('ox-renewed');
    const renewed = await pki.enrollment.renew('ox-renewed', dev.serial, csrPem);
    await expectRefused(dev, 'ox-renewed', 'CERTIFICATE_NOT_CURRENT', /Not authorized/i);
    const fresh = await connectDevice(
      broker.port,
      { ...dev, keyPem, certPem: renewed.certificatePem },
      'ox-renewed',
    );
    await fresh.endAsync();
  });

  it('a source address outside the device’s allowed networks', async () => {
    const dev = await pki.issueDevice('bp-home', 'bp_monitor');
    pki.store.devices.setAllowedNetworks('bp-home', ['127.0.0.2/32']);
    await expectRefused(dev, 'bp-home', 'SOURCE_NOT_ALLOWED', /Not authorized/i);
    const inside = await connectDevice(broker.port, dev, 'bp-home', { localAddress: '127.0.0.2' } as never);
    expect(broker.broker.liveSessions().find((s) => s.deviceId === 'bp-home')?.address).toBe('127.0.0.2');
    await inside.endAsync();
  });

  it('a last will anywhere but the device’s own status topic', async () => {
    const will = {
      topic: 'devices/ox-1/telemetry',
      payload: Buffer.from('{}'),
      qos: 0 as const,
      retain: false,
    };
    await expect(connectDevice(broker.port, ox, 'ox-1', { will })).rejects.toThrow(/Not authorized/i);
    expect(refusalCodes(pki, 'ox-1')).toContain('WILL_NOT_ALLOWED');
  });
});

describe('refused by TLS, audited as an anonymous peer with the reason', () => {
  it('no client certificate', async () => {
    await expectHandshakeRefused({}, 'NO_CLIENT_CERTIFICATE');
  });

  it('a certificate from a foreign CA', async () => {
    const other = await createTestPki();
    try {
      const foreign = await other.issueDevice('ox-1', 'pulse_oximeter');
      await expectHandshakeRefused(
        { keyPem: foreign.keyPem, certPem: foreign.certPem },
        'CERTIFICATE_UNTRUSTED',
      );
    } finally {
      other.cleanup();
    }
  });

  it('an expired certificate, and one not valid yet', async () => {
    const dev = await pki.issueDevice('ox-old', 'pulse_oximeter');
    const expired = await reissueWithValidity(pki, dev, Date.now() - 10 * DAY, 1);
    await expectHandshakeRefused(expired, 'CERTIFICATE_EXPIRED');
    const early = await reissueWithValidity(pki, dev, Date.now() + 10 * DAY, 30);
    await expectHandshakeRefused(early, 'CERTIFICATE_NOT_YET_VALID');
  });

  it('plaintext MQTT, and TLS 1.1', async () => {
    const plain = mqtt.connect({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'ox-1',
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => plain.once('close', () => resolve()));
    plain.end(true);
    await eventually(() => expect(refusalCodes(pki)).toContain('NOT_TLS'));
    await new Promise<void>((resolve) => {
      const old = tlsConnect({
        port: broker.port,
        host: '127.0.0.1',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
      });
      old.once('error', () => resolve());
      old.once('close', () => resolve());
    });
    await eventually(() => expect(refusalCodes(pki)).toContain('TLS_PARAMETERS_REFUSED'));
  });

  it('counts every refusal in Prometheus by reason', async () => {
    const text = await broker.registry.metrics();
    for (const reason of [
      'NO_CLIENT_CERTIFICATE',
      'CERTIFICATE_UNTRUSTED',
      'CLIENT_ID_MISMATCH',
      'DEVICE_NOT_ACTIVE',
    ])
      expect(text).toMatch(
        new RegExp(`vitalgate_mqtt_connection_refusals_total\\{reason="${reason}"\\} [1-9]`),
      );
  });
});

describe('least-privilege topics', () => {
  it('refuses another device’s topic, wildcards and retained publishes; nothing reaches the intake', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    const before = intake.telemetry.length;
    await publishQos1(client, 'devices/ox-2/telemetry', envelope);
    await expect(client.subscribeAsync('devices/+/commands', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await client.endAsync(true);
    expect(intake.telemetry.length).toBe(before);
    const denials = pki.store.audit
      .list({ action: 'broker.acl', target: 'device:ox-1' })
      .map((e) => e.details);
    expect(denials).toContainEqual({ code: 'TOPIC_NOT_ALLOWED' });
    expect(denials).toContainEqual({ code: 'WILDCARD_NOT_ALLOWED' });

    const again = await connectDevice(broker.port, ox, 'ox-1');
    const closed = new Promise<void>((r) => again.once('close', () => r()));
    again.publish('devices/ox-1/telemetry', envelope, { qos: 1, retain: true });
    again.subscribe('#', () => {});
    again.subscribe('$SYS/#', () => {});
    await closed; // the third violation in one session disconnects
    expect(intake.telemetry.length).toBe(before);
    expect(broker.broker.isConnected('ox-1')).toBe(false);
    const codes = pki.store.audit
      .list({ action: 'broker.acl', target: 'device:ox-1' })
      .map((e) => e.details?.code);
    expect(codes).toEqual(
      expect.arrayContaining(['RETAIN_NOT_ALLOWED', 'WILDCARD_NOT_ALLOWED', 'SYS_TOPIC_NOT_ALLOWED']),
    );
    expect(pki.store.audit.list({ action: 'broker.disconnect', target: 'device:ox-1' })[0]?.details).toEqual({
      cause: 'acl_violations',
    });
    expect(await broker.registry.metrics()).toMatch(
      /vitalgate_mqtt_authorization_failures_total\{reason="RETAIN_NOT_ALLOWED"\} 1/,
    );
  });

  it('allows its own commands subscription', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    const granted = await client.subscribeAsync('devices/ox-1/commands', { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await client.endAsync();
  });
});
