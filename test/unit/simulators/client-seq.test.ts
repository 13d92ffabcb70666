// The device client offline: every measurement becomes the next seq, persisted with its message
// in the outbox before any publish; a full outbox drops the oldest; a reopened device continues
// the seq; a disabled or wiped device measures nothing. No network: the hub is never reached.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient, type DeviceClientOptions } from '../../../simulators/device-client.js';
import type { EnrollmentReply, EnrollmentTransport } from '../../../simulators/enrollment-transport.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let root: string;

/** Enrollment straight from the test CA, without a hub listening anywhere. */
class DirectEnrollment implements EnrollmentTransport {
  async enroll(token: string, csrPem: string): Promise<EnrollmentReply> {
    const r = await pki.enrollment.enroll(token, csrPem);
    return {
      deviceId: r.deviceId,
      serial: r.serial,
      certificate: r.certificatePem,
      chain: pki.authority.issuingPem,
      caBundle: pki.authority.caBundlePem(),
      commandSigner: pki.authority.commandSigner().certificatePem,
      notAfter: new Date(r.notAfter).toISOString(),
      mqtt: { host: '127.0.0.1', port: 1 },
    };
  }
  renew(): Promise<EnrollmentReply> {
    return Promise.reject(new Error('not here'));
  }
}

beforeAll(async () => {
  pki = await createTestPki();
  root = mkdtempSync(join(tmpdir(), 'vg-sim-seq-'));
});
afterAll(() => {
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
});

async function device(id: string, extra: Partial<DeviceClientOptions> = {}): Promise<DeviceClient> {
  if (!pki.store.devices.get(id)) pki.store.devices.add({ id, kind: 'thermometer', patientId: null });
  const token = pki.store.devices.require(id).currentSerial
    ? undefined
    : pki.tokens.issue(id, 60_000, 't').token;
  return DeviceClient.open({
    deviceId: id,
    kind: 'thermometer',
    dir: join(root, id),
    enrollment: new DirectEnrollment(),
    token,
    ...extra,
  });
}

const temperature = [{ type: 'body_temperature' as const, value: 36.8, unit: 'Cel' }];

describe('the device client offline', () => {
  it('numbers messages 1, 2, 3 and keeps them in the outbox until acked', async () => {
    const d = await device('th-1');
    expect([d.record(temperature), d.record(temperature), d.record(temperature)]).toEqual([1, 2, 3]);
    expect(d.bufferedSeqs()).toEqual([1, 2, 3]);
    expect(d.counters).toMatchObject({ recorded: 3, recordedReadings: 3, acked: 0 });
    expect(d.record([])).toBeUndefined(); // nothing measured, nothing sent
  });

  it('continues the seq after a restart, with the old buffer intact', async () => {
    const d = await device('th-1');
    expect(d.bufferedSeqs()).toEqual([1, 2, 3]);
    expect(d.record(temperature)).toBe(4);
  });

  it('drops the oldest message from a full outbox and counts it', async () => {
    const d = await device('th-2', { outboxCapacity: 2 });
    const dropped: number[] = [];
    d.on('dropped', (seq) => dropped.push(seq));
    for (let i = 0; i < 5; i++) d.record(temperature);
    expect(d.bufferedSeqs()).toEqual([4, 5]);
    expect(dropped).toEqual([1, 2, 3]);
    expect(d.counters).toMatchObject({ dropped: 3, droppedReadings: 3 });
  });

  it('schedules renewal once two thirds of the lifetime have passed', async () => {
    const d = await device('th-3');
    const { issuedAt, notAfter } = d.credentials!;
    const lifetime = notAfter - issuedAt;
    expect(d.renewalDue(issuedAt + lifetime * 0.6)).toBe(false);
    expect(d.renewalDue(issuedAt + lifetime * 0.7)).toBe(true);
  });

  it('refuses to open without a certificate or a token', async () => {
    pki.store.devices.add({ id: 'th-4', kind: 'thermometer', patientId: null });
    await expect(
      DeviceClient.open({
        deviceId: 'th-4',
        kind: 'thermometer',
        dir: join(root, 'th-4'),
        enrollment: new DirectEnrollment(),
      }),
    ).rejects.toMatchObject({ code: 'DEVICE_NOT_ENROLLED' });
  });
});
