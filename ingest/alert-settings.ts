// Per-patient alert settings as the evaluator sees them: rule parameters (built-in defaults,
// replaced by the program's defaults, replaced by the patient's overrides) and the home point for the geofence, which is either configured or
// the first location seen from the patient's devices. Home points are sealed under the patient's
// key. Settings are cached for a few seconds, so a change made elsewhere (API, CLI) applies soon
// without a query per reading.
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { AlertDefaultRepository } from '../core/store/alert-defaults.js';
import type { AlertParameterRepository, HomePointRepository } from '../core/store/alert-settings.js';
import { alertRule, type AlertRule, type GeoPoint } from './alert-rules.js';

interface CachedPatient {
  at: number;
  overrides: Map<string, Map<string, number>>;
  home: GeoPoint | undefined;
  /** Effective parameters per rule, merged once per program snapshot (not once per reading). */
  merged: Map<string, Record<string, number>>;
  program?: ProgramSnapshot | undefined;
}

interface ProgramSnapshot {
  at: number;
  defaults: Map<string, Map<string, number>>;
}

export interface AlertSettingsDeps {
  parameters: AlertParameterRepository;
  /** Program-wide defaults set by an admin; without it, the rules' built-in defaults. */
  programDefaults?: AlertDefaultRepository;
  homes: HomePointRepository;
  keyring: Keyring;
  /** How long settings are cached per patient. Default 5 s. */
  cacheMs?: number;
  now?: () => number;
}

const homeAad = (patientId: string) => `home-point|${patientId}`;

export class AlertSettings {
  private readonly cache = new Map<string, CachedPatient>();
  private program: ProgramSnapshot | undefined;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: AlertSettingsDeps) {
    this.cacheMs = deps.cacheMs ?? 5_000;
    this.now = deps.now ?? Date.now;
  }

  private patient(patientId: string): CachedPatient {
    const cached = this.cache.get(patientId);
    if (cached && this.now() - cached.at < this.cacheMs) return cached;
    const fresh: CachedPatient = {
      at: this.now(),
      overrides: this.deps.parameters.forPatient(patientId),
      home: this.loadHome(patientId),
      merged: new Map(),
    };
    this.cache.set(patientId, fresh);
    return fresh;
  }

  private loadHome(patientId: string): GeoPoint | undefined {
    const stored = this.deps.homes.get(patientId);
    if (!stored) return undefined;
    const plain = this.deps.keyring.open(
      patientKeySubject(patientId),
      stored.keyVersion,
      stored.sealedPoint,
      homeAad(patientId),
    );
    return JSON.parse(plain.toString('utf8')) as GeoPoint;
  }

  private programSnapshot(): ProgramSnapshot | undefined {
    if (!this.deps.programDefaults) return undefined;
    if (!this.program || this.now() - this.program.at >= this.cacheMs)
      this.program = { at: this.now(), defaults: this.deps.programDefaults.all() };
    return this.program;
  }

  /** The rule's parameters for a patient: defaults, replaced by the program's, then the patient's. */
  parameters(patientId: string, rule: AlertRule): Record<string, number> {
    const cached = this.patient(patientId);
    const program = this.programSnapshot();
    if (cached.program !== program) {
      cached.program = program;
      cached.merged.clear();
    }
    let merged = cached.merged.get(rule.id);
    if (!merged) {
      const own = cached.overrides.get(rule.id);
      const fromProgram = program?.defaults.get(rule.id);
      merged =
        !own && !fromProgram
          ? rule.defaults
          : {
              ...rule.defaults,
              ...(fromProgram ? Object.fromEntries(fromProgram) : {}),
              ...(own ? Object.fromEntries(own) : {}),
            };
      cached.merged.set(rule.id, merged);
    }
    return merged;
  }

  /** Drops cached settings (one patient's, or all with the program defaults) after a change. */
  forget(patientId?: string): void {
    if (patientId === undefined) {
      this.cache.clear();
      this.program = undefined;
    } else this.cache.delete(patientId);
  }

  home(patientId: string): GeoPoint | undefined {
    return this.patient(patientId).home;
  }

  /** Makes `point` the patient's home unless one exists; returns the home point in force. */
  rememberFirstHome(patientId: string, point: GeoPoint): GeoPoint {
    const existing = this.home(patientId);
    if (existing) return existing;
    this.storeHome(patientId, point, 'first_seen');
    return this.home(patientId) ?? point;
  }

  setHome(patientId: string, point: GeoPoint): void {
    if (!(Math.abs(point.lat) <= 90 && Math.abs(point.lon) <= 180))
      throw new VitalGateError(
        'ALERT_SETTING_INVALID',
        'a home point needs lat in [-90, 90] and lon in [-180, 180]',
      );
    this.storeHome(patientId, { lat: point.lat, lon: point.lon }, 'configured');
  }

  clearHome(patientId: string): void {
    this.deps.homes.remove(patientId);
    this.cache.delete(patientId);
  }

  private storeHome(patientId: string, point: GeoPoint, source: 'configured' | 'first_seen'): void {
    const sealed = this.deps.keyring.seal(
      patientKeySubject(patientId),
      Buffer.from(JSON.stringify({ lat: point.lat, lon: point.lon })),
      homeAad(patientId),
    );
    this.deps.homes.put({ patientId, source, keyVersion: sealed.keyVersion, sealedPoint: sealed.ciphertext });
    this.cache.delete(patientId);
  }

  /** Overrides one parameter of a rule for a patient (e.g. heart_rate_high.threshold = 150). */
  setParameter(patientId: string, ruleId: string, parameter: string, value: number): void {
    const rule = alertRule(ruleId);
    if (!rule) throw new VitalGateError('ALERT_SETTING_INVALID', `no alert rule ${ruleId}`);
    if (!(parameter in rule.defaults))
      throw new VitalGateError('ALERT_SETTING_INVALID', `rule ${ruleId} has no parameter ${parameter}`, {
        parameters: Object.keys(rule.defaults),
      });
    if (!Number.isFinite(value) || value < 0)
      throw new VitalGateError('ALERT_SETTING_INVALID', `${ruleId}.${parameter} must be a finite number ≥ 0`);
    this.deps.parameters.set(patientId, ruleId, parameter, value);
    this.cache.delete(patientId);
  }

  removeParameter(patientId: string, ruleId: string, parameter: string): void {
    this.deps.parameters.remove(patientId, ruleId, parameter);
    this.cache.delete(patientId);
  }
}
