// Downsampling after decryption and the closed-bucket cache: a warm day view reads only what is
// not settled yet, and a late (store-and-forward) reading keeps its bucket out of the cache.
import { describe, expect, it } from 'vitest';
import type { LiveEvent, TelemetryPoint, TelemetryQuery } from '../../../dashboard-api/ports.js';
import { downsample } from '../../../dashboard-api/telemetry/downsample.js';
import { TelemetryService } from '../../../dashboard-api/telemetry/telemetry-service.js';

const MIN = 60_000;
const NOW = 1_800_000_000_000;

function fixture() {
  const points: TelemetryPoint[] = [];
  for (let ts = NOW - 60 * MIN; ts < NOW; ts += 1000)
    points.push({
      ts,
      deviceId: 'w',
      type: 'heart_rate',
      values: { value: 60 + ((ts / 1000) % 10), unit: '/min' },
    });
  const reads: TelemetryQuery[] = [];
  const listeners: ((e: LiveEvent) => void)[] = [];
  const service = new TelemetryService(
    {
      async read(q) {
        reads.push(q);
        return points.filter((p) => p.ts >= q.from && p.ts <= q.to);
      },
    },
    { subscribe: (l) => (listeners.push(l), () => {}) },
    () => NOW,
  );
  const emit = (point: TelemetryPoint) =>
    listeners.forEach((l) => l({ kind: 'reading', patientId: 'pat_x', point }));
  return { points, reads, service, emit };
}

describe('downsample', () => {
  it('computes min/mean/max per bucket and per blood-pressure component', () => {
    const buckets = downsample(
      [
        { ts: 0, deviceId: 'b', type: 'blood_pressure', values: { systolic: 120, diastolic: 80 } },
        { ts: 30_000, deviceId: 'b', type: 'blood_pressure', values: { systolic: 140, diastolic: 90 } },
        { ts: 61_000, deviceId: 'b', type: 'blood_pressure', values: { systolic: 110, diastolic: 70 } },
      ],
      MIN,
    ).get('blood_pressure')!;
    expect(buckets).toEqual([
      {
        start: 0,
        count: 2,
        systolic: { min: 120, mean: 130, max: 140 },
        diastolic: { min: 80, mean: 85, max: 90 },
      },
      {
        start: MIN,
        count: 1,
        systolic: { min: 110, mean: 110, max: 110 },
        diastolic: { min: 70, mean: 70, max: 70 },
      },
    ]);
  });
});

describe('the closed-bucket cache', () => {
  it('a warm view reads only the buckets that have not settled', async () => {
    const { reads, service } = fixture();
    const first = await service.downsampled('pat_x', NOW - 60 * MIN + 1, NOW, ['heart_rate'], MIN);
    expect(first.get('heart_rate')).toHaveLength(60);
    expect(reads).toHaveLength(1);
    const second = await service.downsampled('pat_x', NOW - 60 * MIN + 1, NOW, ['heart_rate'], MIN);
    expect(second).toEqual(first);
    // The partial first minute and the last, unsettled minutes are read again; nothing else.
    const span = reads.slice(1).reduce((n, q) => n + (q.to - q.from + 1), 0);
    expect(span).toBeLessThanOrEqual(5 * MIN);
  });

  it('a late reading keeps its bucket out of the cache until it settles', async () => {
    const { reads, service, emit, points } = fixture();
    const late = {
      ts: NOW - 30 * MIN + 5,
      deviceId: 'w',
      type: 'heart_rate' as const,
      values: { value: 200 },
    };
    emit(late);
    points.push(late);
    await service.downsampled('pat_x', NOW - 60 * MIN, NOW, ['heart_rate'], MIN);
    reads.length = 0;
    const again = await service.downsampled('pat_x', NOW - 60 * MIN, NOW, ['heart_rate'], MIN);
    expect(reads.some((q) => q.from <= late.ts && q.to >= late.ts)).toBe(true);
    expect(again.get('heart_rate')!.find((b) => b.start === NOW - 30 * MIN)!.value!.max).toBe(200);
  });

  it('a late reading after a view was cached drops its bucket at every cached resolution', async () => {
    const { reads, service, emit, points } = fixture();
    const range = [NOW - 60 * MIN, NOW] as const;
    for (const resolution of [MIN, 5 * MIN])
      await service.downsampled('pat_x', ...range, ['heart_rate'], resolution);
    const late = {
      ts: NOW - 42 * MIN + 5,
      deviceId: 'w',
      type: 'heart_rate' as const,
      values: { value: 201 },
    };
    points.push(late);
    emit(late);
    for (const [resolution, start] of [
      [MIN, NOW - 42 * MIN],
      [5 * MIN, Math.floor(late.ts / (5 * MIN)) * 5 * MIN],
    ] as const) {
      reads.length = 0;
      const view = await service.downsampled('pat_x', ...range, ['heart_rate'], resolution);
      expect(reads.some((q) => q.from <= late.ts && q.to >= late.ts)).toBe(true);
      expect(view.get('heart_rate')!.find((b) => b.start === start)!.value!.max).toBe(201);
    }
  });
});
