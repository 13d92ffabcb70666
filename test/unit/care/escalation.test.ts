// Escalation ladders and the on-call rota on a real (in-memory) SQLite control plane, the real
// evaluator and lifecycle, and a test clock (no sleeps): an unacknowledged critical alert reaches
// the on-call clinician at minute 5 and the team lead at minute 15; an acknowledgement before
// that stops it; a hand-off changes who the next step reaches; a step pending across a restart
// fires once, not twice and not never; a snooze holds the ladder.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Escalation, type EscalationPage } from '../../../care/escalation.js';
import { OnCallRota } from '../../../care/on-call.js';
import { openDatabase, type Db } from '../../../core/store/database.js';
import { alertParts } from '../../support/care.js';

const PATIENT = 'pat_escalation01';
const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 6, 2, 0); // 03:00 in Amsterdam

/** One running hub's alert parts over a shared database (a second call is a restart). */
function hubParts(db: Db, clock: { now: number }) {
  const now = () => clock.now;
  const { store, evaluator, lifecycle } = alertParts(db, now);
  const escalation = new Escalation({ store, lifecycle, now });
  const pages: EscalationPage[] = [];
  escalation.pages.on('page', (p) => pages.push(p));
  const close = () => {
    escalation.close();
    lifecycle.close();
  };
  return { store, evaluator, lifecycle, escalation, pages, close };
}

function setup() {
  const db = openDatabase(':memory:');
  const clock = { now: T0 };
  const hub = hubParts(db, clock);
  const { store } = hub;
  store.patients.add({ id: PATIENT, sealedDemographics: randomBytes(4), keyVersion: 1, pseudonym: 'p' });
  for (const username of ['dr.assigned', 'dr.night', 'dr.grey', 'dr.lead'])
    store.users.add({ username, role: 'clinician', passwordHash: 'x', mustChangePassword: false });
  store.patients.assign(PATIENT, 'dr.assigned');
  const rota = new OnCallRota(store, () => clock.now);
  rota.teams.add({ id: 'ward-7', name: 'Ward 7', timeZone: 'Europe/Amsterdam' });
  rota.teams.setMember('ward-7', 'dr.night', 'clinician');
  rota.teams.setMember('ward-7', 'dr.grey', 'clinician');
  rota.teams.setMember('ward-7', 'dr.lead', 'lead');
  rota.teams.assignPatient(PATIENT, 'ward-7');
  rota.addShift('ward-7', 'dr.night', T0 - 60 * MIN, T0 + 4 * 60 * MIN, 'user:admin');
  /** SpO2 85 % every 10 s until the 30 s sustain raises the critical alert. */
  const desaturate = (h = hub) => {
    for (let i = 0; i < 4; i++) {
      h.evaluator.evaluate(
        { deviceId: 'ox-1', patientId: PATIENT },
        { type: 'spo2', value: 85, unit: '%' },
        clock.now,
      );
      clock.now += 10_000;
    }
    return store.alerts.list({ patientId: PATIENT, status: 'open' })[0]!;
  };
  const at = (ms: number, raisedAt: number) => (clock.now = raisedAt + ms);
  return { db, clock, hub, store, rota, desaturate, at };
}

const who = (pages: EscalationPage[]) => pages.map((p) => [p.step, p.target, p.recipients]);

describe('escalation', () => {
  it('an unacknowledged critical alert reaches the on-call clinician at minute 5 and the lead at minute 15', () => {
    const { hub, store, desaturate, at } = setup();
    const alert = desaturate();
    expect(who(hub.pages)).toEqual([[0, 'assigned', ['dr.assigned']]]);
    at(5 * MIN - 1, alert.raisedAt);
    expect(hub.escalation.tick()).toEqual([]);
    at(5 * MIN, alert.raisedAt);
    expect(who(hub.escalation.tick())).toEqual([[1, 'role:on_call', ['dr.night']]]);
    at(15 * MIN, alert.raisedAt);
    expect(who(hub.escalation.tick())).toEqual([[2, 'role:team_lead', ['dr.lead']]]);
    expect(hub.escalation.tick()).toEqual([]);
    expect(store.audit.list({ action: 'alert.escalate' })).toHaveLength(3);
  });

  it('an acknowledgement before minute 5 stops the ladder', () => {
    const { hub, store, desaturate, at } = setup();
    const alert = desaturate();
    at(3 * MIN, alert.raisedAt);
    expect(store.alerts.acknowledge(alert.id, 'dr.assigned')).toBe(true);
    at(30 * MIN, alert.raisedAt);
    expect(hub.escalation.tick()).toEqual([]);
    expect(hub.pages).toHaveLength(1);
    expect(hub.escalation.repo.forAlert(alert.id).map((s) => s.state)).toEqual([
      'fired',
      'cancelled',
      'cancelled',
    ]);
  });

  it('a hand-off is one action: the next step reaches whoever is on call at that moment', () => {
    const { hub, store, rota, desaturate, at } = setup();
    const alert = desaturate();
    at(2 * MIN, alert.raisedAt);
    const handed = rota.handOff('ward-7', 'dr.night', 'dr.grey', '07:00');
    expect(new Date(handed.endsAt).toISOString()).toBe('2026-12-06T06:00:00.000Z'); // 07:00 in Amsterdam
    expect(rota.onCall('ward-7')).toEqual(['dr.grey']);
    expect(store.audit.list({ action: 'rota.hand_off' })).toEqual([
      expect.objectContaining({
        actor: 'user:dr.night',
        target: 'team:ward-7',
        details: { to: 'dr.grey', until: '2026-12-06T06:00:00.000Z' },
      }),
    ]);
    at(5 * MIN, alert.raisedAt);
    expect(who(hub.escalation.tick())).toEqual([[1, 'role:on_call', ['dr.grey']]]);
    // Refused hand-offs change nothing.
    expect(() => rota.handOff('ward-7', 'dr.night', 'dr.lead', '07:00')).toThrow(/not on call/);
    expect(() => rota.handOff('ward-7', 'dr.grey', 'dr.stranger', '07:00')).toThrow(/not a member/);
    expect(() => rota.handOff('ward-7', 'dr.grey', 'dr.night', '7 am')).toThrow(/HH:MM/);
    expect(rota.onCall('ward-7')).toEqual(['dr.grey']);
  });

  it('a step pending across a restart fires once, not twice and not never', () => {
    const { db, clock, hub, desaturate, at } = setup();
    const alert = desaturate();
    hub.close(); // the hub stops with step 1 pending
    at(6 * MIN, alert.raisedAt);
    const second = hubParts(db, clock);
    const third = hubParts(db, clock); // a concurrent ticker on the same store
    expect(who(second.escalation.tick())).toEqual([[1, 'role:on_call', ['dr.night']]]);
    expect(third.escalation.tick()).toEqual([]);
    expect(second.escalation.tick()).toEqual([]);
    expect(hub.pages).toHaveLength(1); // only step 0 before the restart

    // Not never: an alert raised while no ladder ran gets its steps at the next tick.
    second.close();
    third.close();
    second.store.alerts.clear(alert.id);
    const bare = hubParts(db, clock);
    bare.escalation.close(); // raised with no escalation listening
    clock.now += 10 * MIN;
    const raised = desaturate(bare);
    const after = hubParts(db, clock);
    expect(who(after.escalation.tick())).toEqual([[0, 'assigned', ['dr.assigned']]]);
    expect(after.escalation.repo.forAlert(raised.id).map((s) => s.state)).toEqual([
      'fired',
      'pending',
      'pending',
    ]);
  });

  it('a snoozed alert’s steps wait for the snooze to end, then fire if still unacknowledged', () => {
    const { hub, desaturate, at } = setup();
    const alert = desaturate();
    at(MIN, alert.raisedAt);
    hub.lifecycle.snooze(alert.id, { username: 'dr.assigned' }, 10, 'repositioning the probe');
    at(6 * MIN, alert.raisedAt);
    expect(hub.escalation.tick()).toEqual([]);
    at(11 * MIN, alert.raisedAt);
    hub.lifecycle.tick();
    expect(who(hub.escalation.tick())).toEqual([[1, 'role:on_call', ['dr.night']]]);
  });
});
