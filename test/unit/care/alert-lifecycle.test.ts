// The alert lifecycle on a real (in-memory) SQLite control plane, a real keyring and the real
// alert evaluator, with a test clock (no sleeps): snooze suppresses and re-notifies at its end
// while still breached; resolve with a reason ends the episode, and a continuing breach raises a
// new alert; every transition is audited and in the alert's history; refusals change nothing.
import { describe, expect, it } from 'vitest';
import type { AlertNotice } from '../../../care/alert-lifecycle.js';
import { isVitalGateError } from '../../../core/errors.js';
import { openDatabase } from '../../../core/store/database.js';
import { alertParts } from '../../support/care.js';

const PATIENT = 'pat_lifecycle001';
const MIN = 60_000;

function setup() {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const db = openDatabase(':memory:');
  const { store, keyring, evaluator, lifecycle } = alertParts(db, now);
  keyring.seal(`patient:${PATIENT}`, Buffer.from('x'), 'warm-up');
  const notices: AlertNotice[] = [];
  lifecycle.notices.on('notice', (n) => notices.push(n));
  /** One heart-rate reading now, then the clock moves 10 s. */
  const hr = (value: number) => {
    evaluator.evaluate(
      { deviceId: 'hr-1', patientId: PATIENT },
      { type: 'heart_rate', value, unit: '/min' },
      clock,
    );
    clock += 10_000;
  };
  const advance = (ms: number) => (clock += ms);
  const audits = (action: string) => store.audit.list({ action });
  const dr = { username: 'dr.life', source: '127.0.0.1' };
  return { store, lifecycle, notices, hr, advance, audits, dr, now };
}

function refusedWith(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isVitalGateError(err)) return err.code;
    throw err;
  }
  throw new Error('not refused');
}

describe('alert lifecycle', () => {
  it('snooze: no notification while snoozed; at its end, still breached, it notifies again (once)', () => {
    const { store, lifecycle, notices, hr, advance, audits, dr, now } = setup();
    hr(150);
    const alert = store.alerts.list({ patientId: PATIENT })[0]!;
    expect(notices).toEqual([{ alert: expect.objectContaining({ id: alert.id }), reason: 'raised' }]);

    const snoozed = lifecycle.snooze(alert.id, dr, 15, 'patient exercising on the ward bike');
    expect(lifecycle.isSnoozed(alert.id)).toBe(true);
    for (let i = 0; i < 20; i++) hr(150); // still breached, 200 s
    advance(10 * MIN);
    expect(lifecycle.tick()).toEqual([]);
    advance(snoozed.snoozedUntil - now());
    expect(lifecycle.tick()).toEqual([
      { alert: expect.objectContaining({ id: alert.id }), reason: 'snooze_ended' },
    ]);
    expect(lifecycle.tick()).toEqual([]); // handled once
    expect(notices.map((n) => n.reason)).toEqual(['raised', 'snooze_ended']);
    expect(lifecycle.isSnoozed(alert.id)).toBe(false);
    expect(audits('alert.snooze')).toEqual([
      expect.objectContaining({
        actor: 'user:dr.life',
        target: `patient:${PATIENT}`,
        details: { alertId: alert.id, rule: 'heart_rate_high', minutes: 15 },
      }),
    ]);
    // The reason is not in the audit trail (clinical text), but it is on the alert, opened.
    expect(JSON.stringify(audits('alert.snooze'))).not.toContain('bike');
    expect(lifecycle.history(store.alerts.get(alert.id)!)).toEqual([
      { kind: 'raised', at: alert.raisedAt, actor: null },
      expect.objectContaining({
        kind: 'snoozed',
        actor: 'user:dr.life',
        until: snoozed.snoozedUntil,
        reason: 'patient exercising on the ward bike',
      }),
      expect.objectContaining({ kind: 'renotified', actor: null }),
    ]);
    const raw = store.db.prepare('SELECT sealed_reason FROM alert_events WHERE kind = ?').get('snoozed') as {
      sealed_reason: Buffer;
    };
    expect(raw.sealed_reason.toString('latin1')).not.toContain('bike');
  });

  it('a snoozed alert that clears by itself does not notify at the snooze end', () => {
    const { store, lifecycle, notices, hr, advance, dr } = setup();
    hr(150);
    const id = store.alerts.list({ patientId: PATIENT })[0]!.id;
    lifecycle.snooze(id, dr, 5, 'checked, sensor loose');
    for (let i = 0; i < 8; i++) hr(100); // recovered, past the 60 s clear-hold
    expect(store.alerts.get(id)!.status).toBe('cleared');
    advance(5 * MIN);
    expect(lifecycle.tick()).toEqual([]);
    expect(notices.map((n) => n.reason)).toEqual(['raised']);
    expect(lifecycle.history(store.alerts.get(id)!).map((h) => h.kind)).toEqual([
      'raised',
      'snoozed',
      'auto_cleared',
      'snooze_ended',
    ]);
  });

  it('resolve by a clinician with a reason; a breach that goes on raises a new alert, not a silent update', () => {
    const { store, lifecycle, notices, hr, audits, dr } = setup();
    hr(150);
    const first = store.alerts.list({ patientId: PATIENT })[0]!;
    expect(store.alerts.acknowledge(first.id, 'dr.life')).toBe(true);
    const resolved = lifecycle.resolve(first.id, dr, 'reviewed: known tachycardia, treated');
    expect(resolved).toMatchObject({ status: 'cleared', clearedAt: expect.any(Number) });
    expect(audits('alert.resolve')).toEqual([
      expect.objectContaining({
        actor: 'user:dr.life',
        details: { alertId: first.id, rule: 'heart_rate_high' },
      }),
    ]);
    expect(lifecycle.history(resolved).map((h) => [h.kind, h.actor, h.reason])).toEqual([
      ['raised', null, undefined],
      ['acknowledged', 'user:dr.life', undefined],
      ['resolved', 'user:dr.life', 'reviewed: known tachycardia, treated'],
    ]);
    hr(150);
    const all = store.alerts.list({ patientId: PATIENT });
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ status: 'open', rule: 'heart_rate_high' });
    expect(notices.map((n) => [n.reason, n.alert.id])).toEqual([
      ['raised', first.id],
      ['raised', all[0]!.id],
    ]);
  });

  it('refuses a resolved alert, an unknown one and a bad snooze length; nothing is stored or audited', () => {
    const { store, lifecycle, hr, audits, dr } = setup();
    hr(150);
    const id = store.alerts.list({ patientId: PATIENT })[0]!.id;
    lifecycle.resolve(id, dr, 'done here');
    const events = () => store.db.prepare('SELECT COUNT(*) AS n FROM alert_events').get() as { n: number };
    const before = {
      events: events().n,
      audits: audits('alert.snooze').length + audits('alert.resolve').length,
    };
    expect(refusedWith(() => lifecycle.snooze(id, dr, 5, 'too late'))).toBe('ALERT_STATE_CONFLICT');
    expect(refusedWith(() => lifecycle.resolve(id, dr, 'again'))).toBe('ALERT_STATE_CONFLICT');
    expect(refusedWith(() => lifecycle.resolve(999, dr, 'none'))).toBe('ALERT_NOT_FOUND');
    hr(150); // the resolved episode is over: a new alert

    const open = store.alerts.list({ patientId: PATIENT, status: 'open' })[0]!.id;
    for (const minutes of [0, -5, 1.5, 24 * 60 + 1])
      expect(refusedWith(() => lifecycle.snooze(open, dr, minutes, 'why'))).toBe('SNOOZE_INVALID');
    expect(lifecycle.isSnoozed(open)).toBe(false);
    expect(events().n).toBe(before.events);
    expect(audits('alert.snooze').length + audits('alert.resolve').length).toBe(before.audits);
  });
});
