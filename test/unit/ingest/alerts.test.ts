// Clinical alert rules on a real (in-memory) SQLite store and a real keyring: one alert per
// episode, hysteresis with a clearing hold, per-patient parameters, sealed home points and state
// restored after a restart. No mocks.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../../core/keyring.js';
import { AlertParameterRepository, HomePointRepository } from '../../../core/store/alert-settings.js';
import { openDatabase, type Db } from '../../../core/store/database.js';
import { AlertRepository } from '../../../core/store/ingest-state.js';
import { distanceM } from '../../../core/geo.js';
import { AlertSettings } from '../../../ingest/alert-settings.js';
import { AlertBus, AlertEvaluator, type AlertEvent } from '../../../ingest/alerts.js';
import type { Reading } from '../../../ingest/schemas.js';

const T0 = 1_800_000_000_000;
const target = { deviceId: 'ox-1', patientId: 'pat_test123456' };

function setup(db: Db = openDatabase(':memory:'), keyring = new Keyring(db, randomBytes(32))) {
  const alerts = new AlertRepository(db);
  const bus = new AlertBus();
  const events: AlertEvent[] = [];
  bus.on('alert', (e) => events.push(e));
  const settings = new AlertSettings({
    parameters: new AlertParameterRepository(db),
    homes: new HomePointRepository(db),
    keyring,
    cacheMs: 0,
  });
  const evaluator = new AlertEvaluator({ alerts, settings, bus });
  const feed = (readings: [number, Reading][]) => {
    for (const [ts, r] of readings) evaluator.evaluate(target, r, ts);
  };
  const types = () => events.map((e) => `${e.type}:${e.alert.rule}`);
  return { db, keyring, alerts, settings, events, evaluator, feed, types };
}

const spo2 = (value: number): Reading => ({ type: 'spo2', value, unit: '%' });
const hr = (value: number): Reading => ({ type: 'heart_rate', value, unit: '/min' });
const at = (seconds: number) => T0 + seconds * 1000;
/** One reading per second from `from` to `to` (exclusive), valued by `value(s)`. */
function series(from: number, to: number, value: (s: number) => Reading): [number, Reading][] {
  return Array.from({ length: to - from }, (_, i) => [at(from + i), value(from + i)]);
}

describe('SpO2 desaturation', () => {
  it('raises exactly one alert once < 90 % lasts 30 s, and clears after 30 s at ≥ 92 %', () => {
    const { feed, events, types, alerts } = setup();
    feed(series(0, 20, () => spo2(97)));
    feed(series(20, 49, () => spo2(85)));
    expect(events).toEqual([]); // 29 s below: not yet
    feed(series(49, 120, () => spo2(85)));
    expect(types()).toEqual(['raised:spo2_low']);
    expect(events[0]!.alert).toMatchObject({
      severity: 'critical',
      patientId: target.patientId,
      status: 'open',
    });
    feed(series(120, 140, () => spo2(91))); // above 90 but below the clearing 92: still open
    feed(series(140, 160, () => spo2(96)));
    expect(types()).toEqual(['raised:spo2_low']); // 20 s recovered: not yet
    feed(series(160, 175, () => spo2(96)));
    expect(types()).toEqual(['raised:spo2_low', 'cleared:spo2_low']);
    expect(alerts.list({ patientId: target.patientId })).toMatchObject([{ status: 'cleared' }]);
  });

  it('a short dip, or readings around 90 % that never stay below for 30 s, raise nothing', () => {
    const { feed, events } = setup();
    feed(series(0, 20, (s) => spo2(s < 10 ? 86 : 97)));
    feed(series(20, 600, (s) => spo2(s % 2 ? 89 : 90)));
    expect(events).toEqual([]);
  });

  it('a long silence breaks a sustained breach', () => {
    const { feed, events } = setup();
    feed([
      [at(0), spo2(85)],
      [at(600), spo2(85)],
    ]);
    expect(events).toEqual([]);
  });
});

describe('hysteresis', () => {
  it('heart rate flapping across 130 raises one alert, not a storm', () => {
    const { feed, types } = setup();
    feed(series(0, 600, (s) => hr(s % 2 ? 128 : 133)));
    expect(types()).toEqual(['raised:heart_rate_high']);
  });

  it('flapping between alarming and normal does not clear and re-raise: the clear needs a hold', () => {
    const { feed, types } = setup();
    feed(series(0, 600, (s) => hr(s % 5 === 0 ? 140 : 100)));
    expect(types()).toEqual(['raised:heart_rate_high']);
    feed(series(600, 700, () => hr(100)));
    expect(types()).toEqual(['raised:heart_rate_high', 'cleared:heart_rate_high']);
    feed(series(700, 710, () => hr(140)));
    expect(types()).toEqual(['raised:heart_rate_high', 'cleared:heart_rate_high', 'raised:heart_rate_high']);
  });

  it('readings older than the last one judged (store-and-forward) do not move an episode', () => {
    const { feed, types } = setup();
    feed([[at(100), hr(150)]]);
    feed(series(0, 99, () => hr(80)));
    expect(types()).toEqual(['raised:heart_rate_high']);
  });
});

describe('the other rules', () => {
  it('heart rate > 130 (not = 130) and < 40', () => {
    const { feed, types } = setup();
    feed([[at(0), hr(130)]]);
    expect(types()).toEqual([]);
    feed([[at(1), hr(131)]]);
    feed([[at(2), hr(39)]]);
    expect(types()).toEqual(['raised:heart_rate_high', 'raised:heart_rate_low']);
  });

  it('blood pressure: systolic ≥ 180 or diastolic ≥ 120 raise one alert; both must fall below to clear', () => {
    const { feed, types } = setup();
    const bp = (systolic: number, diastolic: number): Reading => ({
      type: 'blood_pressure',
      systolic,
      diastolic,
      unit: 'mm[Hg]',
    });
    feed([[at(0), bp(179, 119)]]);
    expect(types()).toEqual([]);
    feed([
      [at(60), bp(150, 121)],
      [at(120), bp(185, 100)],
      [at(180), bp(165, 112)], // diastolic not below the clearing 110
      [at(240), bp(160, 100)],
    ]);
    expect(types()).toEqual(['raised:blood_pressure_high']);
    feed([[at(300), bp(150, 95)]]);
    expect(types()).toEqual(['raised:blood_pressure_high', 'cleared:blood_pressure_high']);
  });

  it('glucose < 70 mg/dL and temperature ≥ 39 °C', () => {
    const { feed, types } = setup();
    feed([
      [at(0), { type: 'blood_glucose', value: 70, unit: 'mg/dL' }],
      [at(1), { type: 'body_temperature', value: 38.9, unit: 'Cel' }],
    ]);
    expect(types()).toEqual([]);
    feed([
      [at(2), { type: 'blood_glucose', value: 55, unit: 'mg/dL' }],
      [at(3), { type: 'body_temperature', value: 39, unit: 'Cel' }],
    ]);
    expect(types()).toEqual(['raised:glucose_low', 'raised:temperature_high']);
  });

  it('geofence: the first location is home; leaving 500 m raises, accuracy is given the benefit of the doubt', () => {
    const { feed, types, db } = setup();
    const home = { lat: 52.37, lon: 4.89 };
    const north = (m: number, accuracyM?: number): Reading => ({
      type: 'location',
      lat: home.lat + m / 111_195,
      lon: home.lon,
      ...(accuracyM === undefined ? {} : { accuracyM }),
    });
    expect(distanceM(home, north(600) as typeof home)).toBeCloseTo(600, 0);
    feed([[at(0), north(0)]]);
    feed([[at(10), north(450)]]);
    feed([[at(20), north(600, 150)]]); // 600 m ± 150 m: may still be inside
    expect(types()).toEqual([]);
    feed([[at(30), north(700, 20)]]);
    expect(types()).toEqual(['raised:geofence_exit']);
    feed([
      [at(40), north(100)],
      [at(200), north(50)],
    ]);
    expect(types()).toEqual(['raised:geofence_exit', 'cleared:geofence_exit']);
    // The home point is stored sealed: no coordinate in the clear.
    const row = db.prepare('SELECT * FROM patient_home_points').get() as { sealed_point: Buffer };
    expect(row.sealed_point.includes(Buffer.from('52.37'))).toBe(false);
  });

  it('a configured home point and radius replace the first location seen', () => {
    const { feed, types, settings } = setup();
    settings.setHome(target.patientId, { lat: 48.85, lon: 2.35 });
    settings.setParameter(target.patientId, 'geofence_exit', 'radiusM', 2_000);
    settings.setParameter(target.patientId, 'geofence_exit', 'clearRadiusM', 1_500);
    feed([[at(0), { type: 'location', lat: 48.85 + 1_000 / 111_195, lon: 2.35 }]]);
    expect(types()).toEqual([]);
    feed([[at(1), { type: 'location', lat: 48.85 + 3_000 / 111_195, lon: 2.35 }]]);
    expect(types()).toEqual(['raised:geofence_exit']);
  });
});

describe('per-patient settings and state', () => {
  it('a per-patient threshold override applies to that patient only', () => {
    const { feed, types, settings, evaluator } = setup();
    settings.setParameter(target.patientId, 'heart_rate_high', 'threshold', 150);
    settings.setParameter(target.patientId, 'heart_rate_high', 'clearAt', 140);
    feed([[at(0), hr(140)]]);
    evaluator.evaluate({ deviceId: 'ox-2', patientId: 'pat_other1234567' }, hr(140), at(0));
    expect(types()).toEqual(['raised:heart_rate_high']);
    feed([[at(1), hr(155)]]);
    expect(types()).toEqual(['raised:heart_rate_high', 'raised:heart_rate_high']);
  });

  it('refuses unknown rules, parameters and values', () => {
    const { settings } = setup();
    expect(() => settings.setParameter(target.patientId, 'mood_low', 'threshold', 1)).toThrow(
      expect.objectContaining({ code: 'ALERT_SETTING_INVALID' }),
    );
    expect(() => settings.setParameter(target.patientId, 'spo2_low', 'colour', 1)).toThrow(
      expect.objectContaining({ code: 'ALERT_SETTING_INVALID' }),
    );
    expect(() => settings.setParameter(target.patientId, 'spo2_low', 'threshold', NaN)).toThrow(
      expect.objectContaining({ code: 'ALERT_SETTING_INVALID' }),
    );
  });

  it('an open alert survives a restart: the condition going on does not raise a second one', () => {
    const first = setup();
    first.feed([[at(0), hr(150)]]);
    const second = setup(first.db, first.keyring);
    second.feed(series(1, 30, () => hr(150)));
    expect(second.events).toEqual([]);
    second.feed(series(30, 100, () => hr(90)));
    expect(second.types()).toEqual(['cleared:heart_rate_high']);
    expect(first.alerts.list()).toHaveLength(1);
  });

  it('an acknowledged alert still clears when the condition ends', () => {
    const { feed, alerts, events } = setup();
    feed([[at(0), hr(150)]]);
    expect(alerts.acknowledge(events[0]!.alert.id, 'dr.who')).toBe(true);
    feed(series(1, 80, () => hr(90)));
    expect(alerts.get(events[0]!.alert.id)).toMatchObject({ status: 'cleared', ackedBy: 'dr.who' });
  });

  it('readings of a device bound to no patient raise nothing', () => {
    const { evaluator, events } = setup();
    evaluator.evaluate({ deviceId: 'loose-1', patientId: null }, hr(200), at(0));
    expect(events).toEqual([]);
  });
});
