// Per-patient alert thresholds over real HTTPS, with readings published by a device through the
// mutual-TLS broker into the real ingest pipeline: an SpO2 threshold set through the API changes
// what raises an alert at once, and the change is audited with old and new values; a setting
// outside the bounds, or on the wrong side, is refused with a coded error naming the field, and
// nothing changes (settings, audit, alerting).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { enrolledUser, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let patientId: string;
let device: MqttClient;
let seq = 0;
let ts = Date.now() - 60_000;
const tokens = { dr: '', other: '', admin: '', auditor: '' };

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Florence Nightingale');
  const creds = await hub.pki.issueDevice('ox-thr', 'wearable', { patientId });
  device = await connectDevice(hub.brokerPort, creds, 'ox-thr');
  tokens.dr = (await enrolledUser(hub, 'dr.thr', 'clinician')).token;
  tokens.other = (await enrolledUser(hub, 'dr.other', 'clinician')).token;
  tokens.admin = (await enrolledUser(hub, 'admin.thr', 'admin')).token;
  tokens.auditor = (await enrolledUser(hub, 'aud.thr', 'auditor')).token;
  hub.pki.store.patients.assign(patientId, 'dr.thr');
}, 60_000);

afterAll(async () => {
  await device?.endAsync();
  await hub?.close();
});

/** Publishes one SpO2 reading (QoS 1): alerts are judged before the PUBACK. */
async function spo2(value: number): Promise<void> {
  seq += 1;
  ts += 1_000;
  await publishQos1(
    device,
    'devices/ox-thr/telemetry',
    envelope(seq, [{ type: 'spo2', value, unit: '%' }], ts).toString(),
  );
}

const settingsPath = () => `/api/v1/patients/${patientId}/alert-settings`;
const put = (token: string, rules: unknown) =>
  hub.client.request('PUT', settingsPath(), { token, body: { rules } });
const changes = () => hub.pki.store.audit.list({ action: 'alert_settings.change' });
const spo2Alerts = () => hub.pki.store.alerts.list({ patientId }).filter((a) => a.rule === 'spo2_low');
const spo2Rule = async (token = tokens.dr) => {
  const res = await hub.client.request('GET', settingsPath(), { token });
  expect(res.status, res.text).toBe(200);
  return (res.body as { rules: { rule: string; parameters: Record<string, number> }[] }).rules.find(
    (r) => r.rule === 'spo2_low',
  )!;
};

describe('per-patient alert thresholds, end to end', () => {
  it('an SpO2 threshold set through the API changes what raises an alert, audited with old and new values', async () => {
    expect((await spo2Rule()).parameters).toMatchObject({ threshold: 90, clearAt: 92, sustainS: 30 });
    // 93 % is fine under the default threshold.
    for (let i = 0; i < 5; i++) await spo2(93);
    expect(spo2Alerts()).toEqual([]);

    const res = await put(tokens.dr, { spo2_low: { threshold: 94, clearAt: 96, sustainS: 0 } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      patientId,
      changed: [
        { field: 'spo2_low.threshold', old: 90, new: 94 },
        { field: 'spo2_low.clearAt', old: 92, new: 96 },
        { field: 'spo2_low.sustainS', old: 30, new: 0 },
      ],
    });
    expect(changes()).toEqual([
      expect.objectContaining({
        actor: 'user:dr.thr',
        target: `patient:${patientId}`,
        outcome: 'success',
        source: '127.0.0.1',
        details: { changes: (res.body as { changed: unknown }).changed },
      }),
    ]);

    // The same 93 % now raises the alert, on the next reading.
    await spo2(93);
    expect(spo2Alerts()).toEqual([expect.objectContaining({ status: 'open', severity: 'critical' })]);
    // It clears past the patient's clearing threshold, not the default one.
    await spo2(95);
    await spo2(95);
    expect(spo2Alerts()[0]!.status).toBe('open');
    await spo2(96);
    await spo2(97);
    expect(spo2Alerts()[0]!.status).toBe('open'); // clear-hold 30 s not over yet
    ts += 30_000;
    await spo2(97);
    expect(spo2Alerts()[0]!.status).toBe('cleared');
  });

  it('refuses a bound-violating or wrong-sided setting, naming the field; nothing changes', async () => {
    const before = await spo2Rule();
    const audits = changes().length;
    const cases: [unknown, string][] = [
      [{ spo2_low: { threshold: 120 } }, 'spo2_low.threshold'],
      [{ spo2_low: { clearAt: 91 } }, 'spo2_low.clearAt'],
      [{ spo2_low: { threshold: 92 }, heart_rate_high: { threshold: 400 } }, 'heart_rate_high.threshold'],
      [{ spo2_low: { loudness: 3 } }, 'spo2_low.loudness'],
    ];
    for (const [rules, field] of cases) {
      const res = await put(tokens.dr, rules);
      expect(res.status, field).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'ALERT_SETTING_INVALID', details: { field } } });
      expect((res.body as { error: { message: string } }).error.message).toContain(field);
    }
    expect((await put(tokens.dr, { spo2_low: { threshold: 'low' } })).status).toBe(400);
    expect(await spo2Rule()).toEqual(before);
    expect(changes()).toHaveLength(audits);
    // The reading path still uses the accepted setting: 93 % raises a new alert, not 92 %'s.
    await spo2(93);
    expect(spo2Alerts().filter((a) => a.status === 'open')).toHaveLength(1);
  });

  it('a clinician not assigned, an auditor and an anonymous caller are refused; an admin may read and set', async () => {
    const before = await spo2Rule();
    const audits = changes().length;
    expect((await put(tokens.other, { spo2_low: { threshold: 91 } })).status).toBe(403);
    expect((await hub.client.request('GET', settingsPath(), { token: tokens.other })).status).toBe(403);
    expect((await put(tokens.auditor, { spo2_low: { threshold: 91 } })).status).toBe(403);
    expect((await hub.client.request('PUT', settingsPath(), { body: { rules: {} } })).status).toBe(401);
    expect(await spo2Rule()).toEqual(before);
    expect(changes()).toHaveLength(audits);

    const byAdmin = await put(tokens.admin, { spo2_low: { sustainS: 10 } });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect((await spo2Rule(tokens.admin)).parameters).toMatchObject({ threshold: 94, sustainS: 10 });
    expect(changes()[0]).toMatchObject({ actor: 'user:admin.thr' });
  });

  it('program defaults are set by an admin only, audited, and apply where the patient has no setting', async () => {
    const path = '/api/v1/alert-settings/defaults';
    const refused = await hub.client.request('PUT', path, {
      token: tokens.dr,
      body: { rules: { heart_rate_high: { threshold: 140 } } },
    });
    expect(refused.status).toBe(403);
    const res = await hub.client.request('PUT', path, {
      token: tokens.admin,
      body: { rules: { heart_rate_high: { threshold: 140 }, spo2_low: { threshold: 88 } } },
    });
    expect(res.status, res.text).toBe(200);
    expect(hub.pki.store.audit.list({ action: 'alert_settings.defaults_change' })).toEqual([
      expect.objectContaining({
        actor: 'user:admin.thr',
        details: {
          changes: [
            { field: 'heart_rate_high.threshold', old: 130, new: 140 },
            { field: 'spo2_low.threshold', old: 90, new: 88 },
          ],
        },
      }),
    ]);
    const settings = await hub.client.request('GET', settingsPath(), { token: tokens.dr });
    const rules = (settings.body as { rules: { rule: string; parameters: object; sources: object }[] }).rules;
    expect(rules.find((r) => r.rule === 'heart_rate_high')).toMatchObject({
      parameters: { threshold: 140 },
      sources: { threshold: 'program' },
    });
    expect(rules.find((r) => r.rule === 'spo2_low')).toMatchObject({
      parameters: { threshold: 94 },
      sources: { threshold: 'patient' },
    });
  });
});
