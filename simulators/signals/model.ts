// What every device model shares: the patient's body (with any scenario modifiers), the
// device's own measurement-noise seed, and the bookkeeping of simulated time between calls.
import { READING_DEFINITIONS } from '../../core/domain.js';
import type { DeviceKind, ReadingType } from '../../core/domain.js';
import { createBody } from './body.js';
import { normalAt } from './random.js';
import type {
  ActiveModifier,
  Body,
  BodyModifier,
  PatientBaseline,
  Reading,
  ScalarReading,
  ScalarReadingType,
  SignalModel,
} from './types.js';

/** The interval assumed before the first call (the runner's usual 1 Hz tick). */
export const FIRST_TICK_MS = 1000;

export function unitOf(type: ScalarReadingType): string {
  const definition = READING_DEFINITIONS[type];
  if (definition.shape !== 'scalar') throw new TypeError(`${type} is not a scalar reading`);
  return definition.unit;
}

/** A scalar reading in the unit SPEC §4 fixes for its type, clamped to the possible range. */
export function scalarReading(type: ScalarReadingType, value: number, ts?: number): ScalarReading {
  const definition = READING_DEFINITIONS[type];
  if (definition.shape !== 'scalar') throw new TypeError(`${type} is not a scalar reading`);
  const { min, max } = definition.possible;
  const reading = { type, value: Math.max(min, Math.min(max, value)), unit: definition.unit };
  return ts === undefined ? reading : { ...reading, ts };
}

export const clamp = (value: number, min: number, max: number): number => Math.max(min, Math.min(max, value));

export abstract class BaseModel implements SignalModel {
  private readonly natural: Body;
  private composed: Body;
  private readonly active: ActiveModifier[] = [];
  private pending: BodyModifier[] = [];
  private readonly names: string[] = [];
  private lastT: number | undefined;

  constructor(
    readonly kind: DeviceKind,
    readonly deviceId: string,
    /** The device's seed: its measurement noise. */
    protected readonly seed: number,
    readonly patient: PatientBaseline,
  ) {
    this.natural = createBody(patient);
    this.composed = this.natural;
  }

  get body(): Body {
    return this.composed;
  }

  get modifiers(): readonly string[] {
    return [...this.names];
  }

  modify(modifier: BodyModifier): this {
    this.names.push(modifier.name);
    if (modifier.startT === undefined) this.pending.push(modifier);
    else this.activate(modifier.build(modifier.startT));
    return this;
  }

  next(t: number): Reading[] {
    if (!Number.isFinite(t)) throw new RangeError('t must be a finite epoch-ms time');
    for (const modifier of this.pending) this.activate(modifier.build(t));
    this.pending = [];
    const first = this.lastT === undefined;
    const previous = this.lastT === undefined ? t - FIRST_TICK_MS : Math.min(this.lastT, t);
    const readings = this.emit(t, previous, first);
    this.lastT = Math.max(this.lastT ?? t, t);
    return readings;
  }

  /** Readings due at `t`; `previous` is the last call's time (t - 1 s on the first call). */
  protected abstract emit(t: number, previous: number, first: boolean): Reading[];

  /** Times in (from, to] at which an active modifier forces one of `types` to be measured. */
  protected forcedTimes(types: readonly ReadingType[], fromExclusive: number, toInclusive: number): number[] {
    const times: number[] = [];
    for (const modifier of this.active) {
      if (modifier.forces.some((type) => types.includes(type))) {
        times.push(...modifier.forcedTimes(fromExclusive, toInclusive));
      }
    }
    return [...new Set(times)].sort((a, b) => a - b);
  }

  /** Device measurement error: standard normal for (stream, key), clipped to ±clip. */
  protected noise(streamId: number, key: number, clip = 3): number {
    return normalAt(this.seed, streamId, key, clip);
  }

  private activate(modifier: ActiveModifier): void {
    this.active.push(modifier);
    this.composed = modifier.wrap(this.composed);
  }
}
