// The device listener over real mutual TLS: who may connect, and what they may do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1, startTestBroker } from '../../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { openssl, runPeer, writeFiles } from '../../support/openssl.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let ox: DeviceCredentials;
const envelope = JSON.stringify({
  v: 1,
  seq: 1,
  ts: Date.now(),
  readings: [{ type: 'spo2', value: 97, unit: '%' }],
});

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki);
  ox = await pki.issueDevice('ox-1', 'pulse_oximeter');
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
});

function refusalsFor(deviceId: string): unknown[] {
  return pki.store.audit
    .list({ action: 'broker.connect', target: `device:${deviceId}`, outcome: 'denied' })
    .map((e) => e.details);
}

describe('a device with a hub-issued certificate', () => {
  it('connects, publishes to its telemetry topic and gets its PUBACK', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    await publishQos1(client, 'devices/ox-1/telemetry', envelope);
    await client.endAsync();
    expect(broker.intake.accepted).toContainEqual({ deviceId: 'ox-1', payload: envelope });
    expect(
      pki.store.audit.list({ action: 'broker.connect', target: 'device:ox-1', outcome: 'success' }),
    ).not.toHaveLength(0);
  });

  it('is served to mosquitto_pub with the same certificate', async () => {
    const f = writeFiles({ 'ca.pem': ox.caPem, 'cert.pem': ox.certPem, 'key.pem': ox.keyPem });
    const before = broker.intake.accepted.length;
    const result = await runPeer('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-V',
      'mqttv311',
      '-q',
      '1',
      '-i',
      'ox-1',
      '--cafile',
      f['ca.pem']!,
      '--cert',
      f['cert.pem']!,
      '--key',
      f['key.pem']!,
      '-t',
      'devices/ox-1/telemetry',
      '-m',
      envelope,
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(broker.intake.accepted.length).toBe(before + 1);
  });
});

describe('refused connections leave nothing granted', () => {
  it('no client certificate: the TLS handshake fails', async () => {
    await expect(
      connectDevice(broker.port, { keyPem: '', certPem: '', caPem: ox.caPem } as never, 'ox-1', {
        key: undefined,
        cert: undefined,
      }),
    ).rejects.toThrow();
  });

  it('a certificate from a foreign CA', async () => {
    const other = await createTestPki();
    try {
      const foreign = await other.issueDevice('ox-1', 'pulse_oximeter');
      await expect(connectDevice(broker.port, { ...foreign, caPem: ox.caPem }, 'ox-1')).rejects.toThrow();
    } finally {
      other.cleanup();
    }
  });

  it('client id different from the certificate CN', async () => {
    await expect(connectDevice(broker.port, ox, 'someone-else')).rejects.toThrow(
      /Identifier rejected|rejected/i,
    );
    expect(refusalsFor('ox-1')).toContainEqual({ code: 'CLIENT_ID_MISMATCH' });
  });

  it('a pending device (registered, certificate present, status not active)', async () => {
    const dev = await pki.issueDevice('ox-pending', 'pulse_oximeter');
    pki.store.devices.setStatus('ox-pending', 'pending', null);
    await expect(connectDevice(broker.port, dev, 'ox-pending')).rejects.toThrow(/Not authorized/i);
    expect(refusalsFor('ox-pending')).toContainEqual({ code: 'DEVICE_NOT_ACTIVE' });
  });

  it('a quarantined device', async () => {
    const dev = await pki.issueDevice('ox-q', 'pulse_oximeter');
    pki.store.devices.setStatus('ox-q', 'quarantined', 'test');
    await expect(connectDevice(broker.port, dev, 'ox-q')).rejects.toThrow(/Not authorized/i);
    expect(refusalsFor('ox-q')).toContainEqual({ code: 'DEVICE_NOT_ACTIVE' });
  });

  it('an expired certificate', async () => {
    const dev = await pki.issueDevice('ox-old', 'pulse_oximeter');
    // Re-sign the same key with a validity in the past, as an expired certificate would be.
    const f = writeFiles({
      'cert.pem': dev.certPem,
      'key.pem': dev.keyPem,
      'issuing.pem': pki.authority.issuingPem,
    });
    const issuingKey = pki.keyring.openSecret('pki:issuing', pki.store.pkiMaterial.get('issuing')!.sealedKey);
    const { pkcs8ToPem } = await import('../../../pki/crypto-provider.js');
    const k = writeFiles({ 'ca.key': pkcs8ToPem(issuingKey) });
    const csr = openssl(['x509', '-x509toreq', '-in', f['cert.pem']!, '-signkey', f['key.pem']!]);
    const expired = openssl(
      [
        'x509',
        '-req',
        '-CA',
        f['issuing.pem']!,
        '-CAkey',
        k['ca.key']!,
        '-set_serial',
        '12345',
        '-not_before',
        '20200101000000Z',
        '-not_after',
        '20200102000000Z',
      ],
      csr.stdout,
    );
    if (expired.status !== 0) {
      // openssl 3.0 lacks -not_before: use -days 0 with a backdated clock is impossible, so use -days -1 equivalents.
      const alt = openssl(
        [
          'x509',
          '-req',
          '-CA',
          f['issuing.pem']!,
          '-CAkey',
          k['ca.key']!,
          '-set_serial',
          '12345',
          '-days',
          '0',
        ],
        csr.stdout,
      );
      expect(alt.status, alt.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 1100));
      await expect(connectDevice(broker.port, { ...dev, certPem: alt.stdout }, 'ox-old')).rejects.toThrow();
    } else {
      await expect(
        connectDevice(broker.port, { ...dev, certPem: expired.stdout }, 'ox-old'),
      ).rejects.toThrow();
    }
  });
});

describe('least-privilege topics', () => {
  it('refuses another device’s topic, wildcards and retained publishes; nothing reaches the intake', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    const before = broker.intake.accepted.length;
    await publishQos1(client, 'devices/ox-2/telemetry', envelope);
    await expect(client.subscribeAsync('devices/+/commands', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await client.endAsync(true);
    expect(broker.intake.accepted.length).toBe(before);
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
    expect(broker.intake.accepted.length).toBe(before);
    expect(
      pki.store.audit.list({ action: 'broker.acl', target: 'device:ox-1' }).map((e) => e.details),
    ).toContainEqual({ code: 'RETAIN_NOT_ALLOWED' });
  });

  it('allows its own commands subscription', async () => {
    const client = await connectDevice(broker.port, ox, 'ox-1');
    const granted = await client.subscribeAsync('devices/ox-1/commands', { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await client.endAsync();
  });
});
