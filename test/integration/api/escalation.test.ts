// Escalation to whoever is on call, over real HTTPS with a desaturation published through the
// mutual-TLS broker into the real ingest: an admin sets up the care team and the lead the rota
// through the API; an unacknowledged critical alert reaches the on-call clinician at minute 5
// (test clock moved on, tick() called: no sleeps), an acknowledgement before that stops it, and
// a hand-off through the API changes who the next step reaches.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EscalationPage } from '../../../care/escalation.js';
import { connectDevice } from '../../support/broker.js';
import { publishDesaturation } from '../../support/desaturation.js';
import { addPatient } from '../../support/ingest.js';
import { enrolledUser, login, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let patientId: string;
let device: MqttClient;
const at = { seq: 0, ts: Date.now() - 10 * 60_000 };
const tokens: Record<string, string> = {};
const users: Record<string, { username: string; secret: string }> = {};
const pages: EscalationPage[] = [];
const MIN = 60_000;

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Virginia Apgar');
  device = await connectDevice(
    hub.brokerPort,
    await hub.pki.issueDevice('ox-esc', 'wearable', { patientId }),
    'ox-esc',
  );
  tokens.admin = (await enrolledUser(hub, 'admin.esc', 'admin')).token;
  for (const name of ['dr.assigned', 'dr.night', 'dr.grey', 'dr.lead']) {
    const user = await enrolledUser(hub, name, 'clinician');
    users[name] = user;
    tokens[name] = user.token;
  }
  hub.pki.store.patients.assign(patientId, 'dr.assigned');
  hub.escalation.pages.on('page', (p) => pages.push(p));
}, 90_000);

afterAll(async () => {
  await device?.endAsync();
  await hub?.close();
});

const call = (method: string, path: string, token: string, body?: unknown) =>
  hub.client.request(method, `/api/v1${path}`, { token, ...(body === undefined ? {} : { body }) });

/** SpO2 85 % for 40 s of reading time: the 30 s sustain raises the critical alert. */
async function desaturate() {
  await publishDesaturation(device, 'ox-esc', at);
  return hub.pki.store.alerts.list({ patientId, status: 'open' })[0]!;
}

describe('escalation to the on-call clinician', () => {
  it('an admin sets up the team; the lead sets the rota; a non-lead cannot', async () => {
    expect(
      (
        await call('POST', '/care-teams', tokens.admin!, {
          id: 'ward-7',
          name: 'Ward 7',
          timeZone: 'Mars/Olympus',
        })
      ).status,
    ).toBe(400);
    expect(hub.pki.store.audit.list({ action: 'care_team.create' })).toEqual([]);
    expect(
      (
        await call('POST', '/care-teams', tokens.admin!, {
          id: 'ward-7',
          name: 'Ward 7',
          timeZone: 'Europe/Amsterdam',
        })
      ).status,
    ).toBe(201);
    for (const [name, role] of [
      ['dr.night', 'clinician'],
      ['dr.grey', 'clinician'],
      ['dr.lead', 'lead'],
    ])
      expect((await call('PUT', `/care-teams/ward-7/members/${name}`, tokens.admin!, { role })).status).toBe(
        200,
      );
    expect((await call('PUT', `/care-teams/ward-7/patients/${patientId}`, tokens.admin!)).status).toBe(200);
    const shift = {
      username: 'dr.night',
      startsAt: new Date(hub.clock.now() - 60 * MIN).toISOString(),
      endsAt: new Date(hub.clock.now() + 8 * 60 * MIN).toISOString(),
    };
    const refused = await call('POST', '/care-teams/ward-7/shifts', tokens['dr.grey']!, shift);
    expect(refused.status).toBe(403);
    expect(hub.pki.store.audit.list({ action: 'rota.shift_add' })).toEqual([]);
    expect((await call('POST', '/care-teams/ward-7/shifts', tokens['dr.lead']!, shift)).status).toBe(201);
    const rota = await call('GET', '/care-teams/ward-7/rota', tokens['dr.night']!);
    expect(rota.body).toMatchObject({
      onCall: ['dr.night'],
      leads: ['dr.lead'],
      timeZone: 'Europe/Amsterdam',
    });
  });

  it('an unacknowledged critical alert reaches the on-call clinician at minute 5, not before', async () => {
    const alert = await desaturate();
    expect(alert).toMatchObject({ rule: 'spo2_low', severity: 'critical' });
    expect(pages.map((p) => [p.alert.id, p.step, p.recipients])).toEqual([[alert.id, 0, ['dr.assigned']]]);
    hub.clock.advance(4 * MIN);
    expect(hub.escalation.tick()).toEqual([]);
    hub.clock.advance(MIN);
    expect(hub.escalation.tick().map((p) => [p.step, p.target, p.recipients])).toEqual([
      [1, 'role:on_call', ['dr.night']],
    ]);
    expect(hub.pki.store.audit.list({ action: 'alert.escalate' })).toHaveLength(2);
    expect(
      (await call('POST', `/alerts/${alert.id}/resolve`, tokens['dr.night']!, { reason: 'not mine' })).status,
    ).toBe(403);
    expect(
      (await call('POST', `/alerts/${alert.id}/resolve`, tokens['dr.assigned']!, { reason: 'treated' }))
        .status,
    ).toBe(200);
  });

  it('an acknowledgement before minute 5 stops the ladder; a hand-off changes who the next alert reaches', async () => {
    hub.clock.advance(MIN);
    const first = await desaturate();
    hub.clock.advance(2 * MIN);
    expect((await call('POST', `/alerts/${first.id}/ack`, tokens['dr.assigned']!, {})).status).toBe(200);
    hub.clock.advance(20 * MIN);
    expect(hub.escalation.tick()).toEqual([]);
    // Sessions idle out after 15 min of (test) clock: sign in again.
    for (const name of ['dr.assigned', 'dr.night']) tokens[name] = await login(hub, users[name]!);
    expect(
      (await call('POST', `/alerts/${first.id}/resolve`, tokens['dr.assigned']!, { reason: 'treated' }))
        .status,
    ).toBe(200);

    // "Until" is a wall-clock time in the site's zone, three hours from the test clock's now (a
    // fixed "07:00" would lapse within minutes when the suite runs just before 07:00 there).
    const until = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Amsterdam',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(hub.clock.now() + 3 * 60 * MIN);
    const handOff = await call('POST', '/care-teams/ward-7/hand-off', tokens['dr.night']!, {
      to: 'dr.grey',
      until,
    });
    expect(handOff.status, handOff.text).toBe(200);
    expect(handOff.body).toMatchObject({ username: 'dr.grey' });
    expect(hub.pki.store.audit.list({ action: 'rota.hand_off' })).toHaveLength(1);
    const bad = await call('POST', '/care-teams/ward-7/hand-off', tokens['dr.night']!, {
      to: 'dr.lead',
      until,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'ROTA_INVALID' } });

    const second = await desaturate();
    hub.clock.advance(5 * MIN);
    expect(hub.escalation.tick().map((p) => [p.alert.id, p.recipients])).toEqual([[second.id, ['dr.grey']]]);
  });
});
