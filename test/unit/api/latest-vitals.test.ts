// LatestVitals: seeded once from stored telemetry, then kept current from the live feed; the
// newest reading wins, readings that arrive while seeding are kept, an erased patient is
// forgotten, and trends compare with the hour before. The telemetry service is a stand-in that
// answers what storage would (raw points and hourly buckets), so each case is exact.
import { describe, expect, it } from 'vitest';
import type { ReadingType } from '../../../core/domain.js';
import type { LiveEvent, TelemetryPoint } from '../../../dashboard-api/ports.js';
import { LatestVitals, previousHourMean } from '../../../dashboard-api/services/latest-vitals.js';
import type { TelemetryService } from '../../../dashboard-api/telemetry/telemetry-service.js';

const HOUR = 3_600_000;
const NOW = 100 * HOUR + 30 * 60_000;

function standIn(stored: { raw: TelemetryPoint[]; hourly: Map<ReadingType, unknown[]> }) {
  const listeners: ((e: LiveEvent) => void)[] = [];
  let reads = 0;
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const service = {
    subscribe(listener: (e: LiveEvent) => void) {
      listeners.push(listener);
      return () => {};
    },
    async raw() {
      reads += 1;
      await gate;
      return stored.raw;
    },
    async downsampled() {
      return stored.hourly;
    },
  } as unknown as TelemetryService;
  return {
    service,
    reads: () => reads,
    emit: (patientId: string, point: TelemetryPoint) =>
      listeners.forEach((l) => l({ kind: 'reading', patientId, point })),
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

const hr = (ts: number, value: number, deviceId = 'w1'): TelemetryPoint => ({
  ts,
  deviceId,
  type: 'heart_rate',
  values: { value, unit: '/min' },
});

describe('LatestVitals', () => {
  it('seeds once from storage: the latest raw reading, else the last hourly mean (not exact)', async () => {
    const store = standIn({
      raw: [hr(NOW - 60_000, 80), hr(NOW - 30_000, 84)],
      hourly: new Map<ReadingType, unknown[]>([
        ['heart_rate', [{ start: 99 * HOUR, count: 10, value: { min: 60, mean: 70, max: 80 } }]],
        ['body_weight', [{ start: 98 * HOUR, count: 1, value: { min: 71.44, mean: 71.44, max: 71.44 } }]],
      ]),
    });
    const latest = new LatestVitals(store.service, ['heart_rate', 'body_weight'], () => NOW);
    const v = await latest.of('p1');
    expect(v.latest.get('heart_rate')).toEqual({ ts: NOW - 30_000, values: { value: 84 }, exact: true });
    expect(v.latest.get('body_weight')).toEqual({ ts: 99 * HOUR, values: { value: 71.4 }, exact: false });
    expect(v.lastByDevice.get('w1')).toBe(NOW - 30_000);
    expect(previousHourMean(v, 'heart_rate', NOW - 30_000)).toBe(70);
    await latest.of('p1');
    expect(store.reads()).toBe(1);
  });

  it('keeps the newest reading from the live feed, and one arriving during seeding', async () => {
    const store = standIn({ raw: [hr(NOW - 30_000, 84)], hourly: new Map() });
    const latest = new LatestVitals(store.service, ['heart_rate'], () => NOW);
    store.emit('p1', hr(NOW, 150)); // not asked for yet: not kept
    store.hold();
    const seeding = latest.of('p1');
    store.emit('p1', hr(NOW + 1000, 131));
    store.release();
    const v = await seeding;
    expect(v.latest.get('heart_rate')).toMatchObject({ ts: NOW + 1000, values: { value: 131 } });
    store.emit('p1', hr(NOW - 120_000, 60)); // late, older: the latest stays
    store.emit('p2', hr(NOW + 2000, 99)); // another patient
    expect((await latest.of('p1')).latest.get('heart_rate')).toMatchObject({ values: { value: 131 } });
  });

  it('forgets an erased patient, so the next ask reads storage again', async () => {
    const store = standIn({ raw: [hr(NOW, 70)], hourly: new Map() });
    const latest = new LatestVitals(store.service, ['heart_rate'], () => NOW);
    await latest.of('p1');
    latest.forget('p1');
    store.emit('p1', hr(NOW + 1000, 71));
    await latest.of('p1');
    expect(store.reads()).toBe(2);
  });
});
