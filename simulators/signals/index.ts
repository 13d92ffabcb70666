// Physiological signal models for the device simulators: pure and seeded. A model takes a
// simulated time (epoch ms) and returns the readings the device publishes then, in the
// SPEC §4 reading shapes. A fleet seed and the device id fix the whole series.
import { isDeviceKind } from '../../core/domain.js';
import type { DeviceKind } from '../../core/domain.js';
import { applyScenario } from '../scenarios.js';
import { PulseOximeterModel, WearableModel } from './continuous.js';
import { MeasuringModel } from './measuring.js';
import { drawPatient } from './patient.js';
import { deviceSeed, hash32, hashString, seedOf } from './random.js';
import type { PatientBaseline, SignalModel, SignalModelOptions } from './types.js';

export type * from './types.js';
export { mealsOn } from './body.js';
export type { Meal } from './body.js';
export { distanceM, localDay, localHour, sleepLevel } from './patient.js';
export { Rng, deviceSeed, seedOf } from './random.js';

/** The patient a device belongs to: its own, or one shared by `patientId` within the fleet. */
export function patientFor(
  options: Pick<SignalModelOptions, 'seed' | 'deviceId' | 'patientId'>,
): PatientBaseline {
  const patientSeed =
    options.patientId === undefined
      ? hash32(deviceSeed(options.seed, options.deviceId), hashString('patient'))
      : hash32(seedOf(options.seed), hashString(`patient:${options.patientId}`));
  return drawPatient(patientSeed);
}

export function createSignalModel(kind: DeviceKind, options: SignalModelOptions): SignalModel {
  if (!isDeviceKind(kind)) throw new RangeError(`unknown device kind "${String(kind)}"`);
  if (kind === 'gateway') throw new RangeError('a gateway measures nothing: it has no signal model');
  if (typeof options.deviceId !== 'string' || options.deviceId.length === 0) {
    throw new RangeError('deviceId must be a non-empty string');
  }
  const { measurementIntervalS } = options;
  if (
    measurementIntervalS !== undefined &&
    !(measurementIntervalS > 0 && Number.isFinite(measurementIntervalS))
  ) {
    throw new RangeError('measurementIntervalS must be a positive number');
  }
  const seed = deviceSeed(options.seed, options.deviceId);
  const patient = patientFor(options);
  let model: SignalModel;
  switch (kind) {
    case 'wearable':
      model = new WearableModel(options.deviceId, seed, patient, {
        ecgChunkS: options.ecgChunkS ?? 1,
        ecgSampleRateHz: options.ecgSampleRateHz ?? 250,
      });
      break;
    case 'pulse_oximeter':
      model = new PulseOximeterModel(options.deviceId, seed, patient);
      break;
    default:
      model = new MeasuringModel(
        kind,
        options.deviceId,
        seed,
        patient,
        measurementIntervalS === undefined ? undefined : measurementIntervalS * 1000,
      );
  }
  return options.scenario === undefined ? model : applyScenario(model, options.scenario);
}
