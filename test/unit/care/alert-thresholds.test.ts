// Alert thresholds on a real (in-memory) SQLite control plane: effective parameters by level,
// bounds on the whole rule, audits with old and new values, and refusals that store nothing.
import { describe, expect, it } from 'vitest';
import { AlertThresholds, type RuleSettings } from '../../../care/alert-thresholds.js';
import { isVitalGateError } from '../../../core/errors.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import { openDatabase } from '../../../core/store/database.js';

const PATIENT = 'pat_thresholds01';

function setup() {
  const store = new ControlPlane(openDatabase(':memory:'), () => 1_800_000_000_000);
  store.patients.add({ id: PATIENT, sealedDemographics: Buffer.alloc(1), keyVersion: 1, pseudonym: 'p1' });
  const changed: (string | undefined)[] = [];
  const thresholds = new AlertThresholds({ store, onChange: (id) => changed.push(id) });
  const who = { actor: 'user:dr.t', source: '127.0.0.1' };
  const rows = () =>
    store.db.prepare('SELECT COUNT(*) AS n FROM alert_rule_parameters').get() as { n: number };
  const audits = () =>
    store.audit
      .list({})
      .filter((e) => e.action.startsWith('alert_settings.'))
      .sort((a, b) => a.seq - b.seq);
  return { store, thresholds, who, changed, rows, audits };
}

const rule = (all: RuleSettings[], id: string) => all.find((r) => r.rule === id)!;

function refusal(fn: () => unknown): { code: string; field: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (isVitalGateError(err)) return { code: err.code, field: err.details?.field, message: err.message };
    throw err;
  }
  throw new Error('not refused');
}

describe('alert thresholds', () => {
  it('a patient setting replaces the program default, which replaces the rule default; audited old → new', () => {
    const { thresholds, who, changed, audits } = setup();
    expect(rule(thresholds.forPatient(PATIENT), 'spo2_low')).toMatchObject({
      parameters: { threshold: 90, clearAt: 92 },
      sources: { threshold: 'rule', clearAt: 'rule' },
      bounds: { threshold: { min: 50, max: 100, unit: '%' } },
    });
    thresholds.changeProgram({ spo2_low: { threshold: 88 } }, { actor: 'user:admin.t' });
    const own = thresholds.changePatient(PATIENT, { spo2_low: { threshold: 94, clearAt: 96 } }, who);
    expect(own).toEqual([
      { field: 'spo2_low.threshold', old: 88, new: 94 },
      { field: 'spo2_low.clearAt', old: 92, new: 96 },
    ]);
    expect(rule(thresholds.forPatient(PATIENT), 'spo2_low')).toMatchObject({
      parameters: { threshold: 94, clearAt: 96, sustainS: 30 },
      sources: { threshold: 'patient', clearAt: 'patient', sustainS: 'rule' },
    });
    // null drops the patient's own value: back to the program default.
    thresholds.changePatient(PATIENT, { spo2_low: { threshold: null } }, who);
    expect(rule(thresholds.forPatient(PATIENT), 'spo2_low')).toMatchObject({
      parameters: { threshold: 88 },
      sources: { threshold: 'program' },
    });
    expect(changed).toEqual([undefined, PATIENT, PATIENT]);
    expect(audits().map((a) => [a.action, a.actor, a.target, a.details])).toEqual([
      [
        'alert_settings.defaults_change',
        'user:admin.t',
        'alert_rules',
        { changes: [{ field: 'spo2_low.threshold', old: 90, new: 88 }] },
      ],
      ['alert_settings.change', 'user:dr.t', `patient:${PATIENT}`, { changes: own }],
      [
        'alert_settings.change',
        'user:dr.t',
        `patient:${PATIENT}`,
        { changes: [{ field: 'spo2_low.threshold', old: 94, new: 88 }] },
      ],
    ]);
  });

  it('refuses nonsense, naming the field, and stores and audits nothing', () => {
    const { thresholds, who, changed, rows, audits } = setup();
    const cases: [Parameters<AlertThresholds['changePatient']>[1], string][] = [
      [{ spo2_low: { threshold: 120 } }, 'spo2_low.threshold'],
      [{ spo2_low: { clearAt: 85 } }, 'spo2_low.clearAt'], // below the raising 90 %: wrong side
      [{ heart_rate_high: { threshold: 115 } }, 'heart_rate_high.clearAt'], // now under its clear 120
      [{ blood_pressure_high: { clearDiastolic: 125 } }, 'blood_pressure_high.clearDiastolic'],
      [{ spo2_low: { sustainS: -1 } }, 'spo2_low.sustainS'],
      [{ spo2_low: { colour: 1 } }, 'spo2_low.colour'],
      [{ mood_low: { threshold: 1 } }, 'mood_low'],
      // One bad rule refuses the whole change, the good one included.
      [
        { heart_rate_low: { threshold: 35 }, temperature_high: { threshold: 50 } },
        'temperature_high.threshold',
      ],
    ];
    for (const [change, field] of cases) {
      const r = refusal(() => thresholds.changePatient(PATIENT, change, who));
      expect(r, field).toMatchObject({ code: 'ALERT_SETTING_INVALID', field });
    }
    expect(refusal(() => thresholds.changePatient(PATIENT, {}, who)).code).toBe('ALERT_SETTING_INVALID');
    expect(
      refusal(() => thresholds.changePatient('pat_nobody000000', { spo2_low: { threshold: 91 } }, who)).code,
    ).toBe('PATIENT_NOT_FOUND');
    expect(rows().n).toBe(0);
    expect(audits()).toEqual([]);
    expect(changed).toEqual([]);
  });

  it('refuses a program default that would be inconsistent with a patient’s own setting', () => {
    const { thresholds, who, audits } = setup();
    thresholds.changePatient(PATIENT, { spo2_low: { clearAt: 93 } }, who);
    const r = refusal(() => thresholds.changeProgram({ spo2_low: { threshold: 95, clearAt: 97 } }, who));
    expect(r).toMatchObject({ code: 'ALERT_SETTING_CONFLICT', field: 'spo2_low.clearAt' });
    expect(r.message).not.toContain(PATIENT);
    expect(rule(thresholds.program(), 'spo2_low').parameters).toMatchObject({ threshold: 90, clearAt: 92 });
    expect(audits()).toHaveLength(1);
  });
});
