// Alert thresholds as staff see and set them: each rule's effective parameters for a patient
// (built-in default ← program default ← the patient's own), where each value comes from, and
// changes to either level. Every change is checked on the rule's whole effective set (ranges,
// clearing side), applied in one transaction, and audited with its old and new values; a
// refused change stores nothing.
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import { AlertDefaultRepository } from '../core/store/alert-defaults.js';
import { AlertParameterRepository } from '../core/store/alert-settings.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { ALERT_BOUNDS, checkRuleParameters, parameterRange } from '../ingest/alert-bounds.js';
import { ALERT_RULES, alertRule, type AlertRule } from '../ingest/alert-rules.js';

export type ParameterSource = 'rule' | 'program' | 'patient';

export interface RuleSettings {
  rule: string;
  severity: string;
  readingType: string;
  parameters: Record<string, number>;
  sources: Record<string, ParameterSource>;
  bounds: Record<string, { min: number; max: number; unit: string }>;
}

/** `rule` → `parameter` → new value, or null to drop the setting at that level. */
export type SettingChanges = Readonly<Record<string, Readonly<Record<string, number | null>>>>;

export interface SettingChange {
  field: string;
  old: number;
  new: number;
}

export interface AlertThresholdDeps {
  store: ControlPlane;
  /** Tells the reading path that settings changed (one patient's, or the program's: undefined). */
  onChange?: (patientId?: string) => void;
  now?: () => number;
}

type Levels = Map<string, Map<string, number>>;

function effective(rule: AlertRule, ...levels: (Map<string, number> | undefined)[]) {
  const parameters: Record<string, number> = { ...rule.defaults };
  const sources: Record<string, ParameterSource> = {};
  for (const name of Object.keys(rule.defaults)) sources[name] = 'rule';
  levels.forEach((level, i) => {
    for (const [name, value] of level ?? []) {
      if (!(name in parameters)) continue;
      parameters[name] = value;
      sources[name] = i === 0 ? 'program' : 'patient';
    }
  });
  return { parameters, sources };
}

function view(rule: AlertRule, program: Levels, patient?: Levels): RuleSettings {
  return {
    rule: rule.id,
    severity: rule.severity,
    readingType: rule.readingType,
    ...effective(rule, program.get(rule.id), patient?.get(rule.id)),
    bounds: { ...ALERT_BOUNDS[rule.id].ranges },
  };
}

/** The changes in a stable order, each rule and parameter known (refused, naming it, otherwise). */
function normalize(changes: SettingChanges): [AlertRule, [string, number | null][]][] {
  const entries = Object.entries(changes);
  if (entries.length === 0) throw new VitalGateError('ALERT_SETTING_INVALID', 'no change given');
  return entries.map(([ruleId, params]) => {
    const rule = alertRule(ruleId);
    if (!rule) parameterRange(ruleId, ''); // throws, naming the rule
    const list = Object.entries(params);
    for (const [name, value] of list) {
      parameterRange(ruleId, name);
      if (value !== null && !Number.isFinite(value))
        throw new VitalGateError('ALERT_SETTING_INVALID', `${ruleId}.${name} must be a number`, {
          field: `${ruleId}.${name}`,
        });
    }
    return [rule!, list];
  });
}

function apply(level: Map<string, number> | undefined, list: [string, number | null][]): Map<string, number> {
  const next = new Map(level ?? []);
  for (const [name, value] of list) {
    if (value === null) next.delete(name);
    else next.set(name, value);
  }
  return next;
}

function diff(
  rule: AlertRule,
  before: Record<string, number>,
  after: Record<string, number>,
): SettingChange[] {
  return Object.keys(rule.defaults)
    .filter((name) => before[name] !== after[name])
    .map((name) => ({ field: `${rule.id}.${name}`, old: before[name]!, new: after[name]! }));
}

export class AlertThresholds {
  private readonly parameters: AlertParameterRepository;
  private readonly defaults: AlertDefaultRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: AlertThresholdDeps) {
    this.parameters = new AlertParameterRepository(deps.store.db, deps.now);
    this.defaults = new AlertDefaultRepository(deps.store.db, deps.now);
    this.audit = deps.store.audit;
  }

  private requirePatient(patientId: string): void {
    if (this.deps.store.patients.require(patientId).erasedAt !== null)
      throw new VitalGateError('PATIENT_ERASED', 'the patient has been erased');
  }

  /** Each rule's effective parameters for a patient, and where each comes from. */
  forPatient(patientId: string): RuleSettings[] {
    this.requirePatient(patientId);
    const program = this.defaults.all();
    const own = this.parameters.forPatient(patientId);
    return ALERT_RULES.map((rule) => view(rule, program, own));
  }

  /** Each rule's program-wide parameters. */
  program(): RuleSettings[] {
    const program = this.defaults.all();
    return ALERT_RULES.map((rule) => view(rule, program));
  }

  /** Sets (or, with null, drops) a patient's own parameters; returns what changed in effect. */
  changePatient(
    patientId: string,
    changes: SettingChanges,
    who: { actor: string; source?: string | undefined },
  ): SettingChange[] {
    this.requirePatient(patientId);
    const plan = normalize(changes);
    const result = this.deps.store.transaction(() => {
      const program = this.defaults.all();
      const own = this.parameters.forPatient(patientId);
      const out: SettingChange[] = [];
      for (const [rule, list] of plan) {
        const before = effective(rule, program.get(rule.id), own.get(rule.id)).parameters;
        const after = effective(rule, program.get(rule.id), apply(own.get(rule.id), list)).parameters;
        checkRuleParameters(rule.id, after);
        for (const [name, value] of list) {
          if (value === null) this.parameters.remove(patientId, rule.id, name);
          else this.parameters.set(patientId, rule.id, name, value);
        }
        out.push(...diff(rule, before, after));
      }
      this.audit.append({
        actor: who.actor,
        action: 'alert_settings.change',
        target: `patient:${patientId}`,
        outcome: 'success',
        source: who.source,
        details: { changes: out },
      });
      return out;
    });
    this.deps.onChange?.(patientId);
    return result;
  }

  /**
   * Sets (or, with null, drops) program-wide parameters. Refused when the new defaults would be
   * inconsistent for a patient who overrides part of the rule (the count is given, no ids).
   */
  changeProgram(
    changes: SettingChanges,
    who: { actor: string; source?: string | undefined },
  ): SettingChange[] {
    const plan = normalize(changes);
    const result = this.deps.store.transaction(() => {
      const program = this.defaults.all();
      const out: SettingChange[] = [];
      for (const [rule, list] of plan) {
        const before = effective(rule, program.get(rule.id)).parameters;
        const next = apply(program.get(rule.id), list);
        const after = effective(rule, next).parameters;
        checkRuleParameters(rule.id, after);
        let conflicts = 0;
        let firstError: VitalGateError | undefined;
        for (const own of this.parameters.forRule(rule.id).values()) {
          try {
            checkRuleParameters(rule.id, effective(rule, next, own).parameters);
          } catch (err) {
            conflicts += 1;
            firstError ??= err as VitalGateError;
          }
        }
        if (firstError)
          throw new VitalGateError(
            'ALERT_SETTING_CONFLICT',
            `with this default, ${conflicts} patient(s)' own settings would be inconsistent: ${firstError.message}`,
            { field: firstError.details?.field, patients: conflicts },
          );
        for (const [name, value] of list) {
          if (value === null) this.defaults.remove(rule.id, name);
          else this.defaults.set(rule.id, name, value);
        }
        out.push(...diff(rule, before, after));
      }
      this.audit.append({
        actor: who.actor,
        action: 'alert_settings.defaults_change',
        target: 'alert_rules',
        outcome: 'success',
        source: who.source,
        details: { changes: out },
      });
      return out;
    });
    this.deps.onChange?.();
    return result;
  }
}
