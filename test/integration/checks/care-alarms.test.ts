// VG-CARE-004 and VG-CARE-005 on a test hub's real store, each broken and mended: a wearable
// that goes silent fails the check until the device watch raises its alarm, and again when a
// clinician resolves the alarm while it stays silent; a VAPID key past its policy age fails until
// it is rotated. Time is the check context's `now` and the watch's test clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceWatch } from '../../../care/device-watch.js';
import { VapidKeys } from '../../../care/vapid-keys.js';
import { AlertParameterRepository } from '../../../core/store/alert-settings.js';
import { PushRepository } from '../../../core/store/push.js';
import { silenceRaisesAlarm, vapidKeyFresh } from '../../../hub/checks/care-alarms.js';
import { AlertBus } from '../../../ingest/alerts.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';

let pki: TestPki;
const MIN = 60_000;
const DAY = 86_400_000;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

const run = async (check: typeof silenceRaisesAlarm, now: number) => check.run(checkContext(pki, { now }));

describe('care alarm checks', () => {
  it('VG-CARE-004: a silent wearable fails until its alarm is raised, and again when the alarm is resolved while it stays silent', async () => {
    const t0 = Date.now();
    expect((await run(silenceRaisesAlarm, t0)).status).toBe('not_applicable');
    const patientId = addPatient(pki, 'Silent Patient');
    await pki.issueDevice('wr-silent', 'wearable', { patientId });
    const clock = { now: t0 };
    const bus = new AlertBus();
    const watch = new DeviceWatch({ store: pki.store, bus, now: () => clock.now });
    try {
      bus.emit('reading', {
        patientId,
        deviceId: 'wr-silent',
        ts: t0,
        reading: { type: 'heart_rate', value: 70, unit: '/min' } as never,
      });
      expect(watch.tick()).toBe(0);
      expect((await run(silenceRaisesAlarm, t0 + 4 * MIN)).status).toBe('pass');

      // Past the 5 min cadence and the margin, with no alarm (the watch has not run): broken.
      clock.now = t0 + 7 * MIN;
      expect(await run(silenceRaisesAlarm, clock.now)).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining('wr-silent (7 min)'),
      });
      // The watch raises the alarm: mended.
      expect(watch.tick()).toBe(1);
      expect((await run(silenceRaisesAlarm, clock.now)).status).toBe('pass');

      // A clinician resolves the alarm while the device stays silent: nothing raises it again.
      const alarm = pki.store.alerts.active().find((a) => a.rule === 'data_missing')!;
      pki.store.alerts.clear(alarm.id);
      clock.now += MIN;
      expect(watch.tick()).toBe(0);
      expect((await run(silenceRaisesAlarm, clock.now)).status).toBe('fail');

      // The patient's own, longer cadence for wearables: not silent past it.
      new AlertParameterRepository(pki.store.db).set(patientId, 'data_missing', 'wearable', 3600);
      expect((await run(silenceRaisesAlarm, clock.now)).status).toBe('pass');
    } finally {
      watch.close();
    }
  });

  it('VG-CARE-005: not applicable before any key; a key past its policy age fails, a rotated one passes', async () => {
    const now = Date.now();
    expect((await run(vapidKeyFresh, now)).status).toBe('not_applicable');
    const keys = new VapidKeys(pki.store, pki.keyring);
    const first = keys.current();
    expect(await run(vapidKeyFresh, now)).toMatchObject({ status: 'pass' });
    const max = pki.config.vapidKeyMaxAgeDays;
    expect((await run(vapidKeyFresh, first.createdAt + (max - 10) * DAY)).status).toBe('warn');
    const late = first.createdAt + (max + 1) * DAY;
    expect(await run(vapidKeyFresh, late)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(`${max + 1} day(s) old`),
    });

    // Rotation: a new key, and the subscriptions bound to the old one are dropped.
    new PushRepository(pki.store.db).subscribe({
      username: 'dr.a',
      endpoint: 'https://fcm.googleapis.com/fcm/send/abc',
      p256dh: 'x',
      auth: 'y',
      label: 'phone',
      vapidKeyId: first.id,
    });
    const rotated = keys.rotate('cli:test');
    expect(rotated).toMatchObject({ subscriptionsDropped: 1 });
    expect(rotated.publicKey).not.toBe(first.publicKey);
    expect(new PushRepository(pki.store.db).allSubscriptions()).toEqual([]);
    expect(pki.store.audit.list({ action: 'push.vapid_rotate' })).toHaveLength(1);
    expect(keys.current().privateKey).toBe(rotated.privateKey);
    expect((await run(vapidKeyFresh, rotated.createdAt + DAY)).status).toBe('pass');
  });
});
