// The clinical report from hand-made minute statistics: percentiles (type 7) against numbers
// worked out by hand, time in ranges, morning/evening blood pressure, the weight trend,
// thresholds and time to acknowledge.
import { describe, expect, it } from 'vitest';
import type { ReadingType } from '../../../core/domain.js';
import type { ReadingStats } from '../../../ingest/reading-stats.js';
import { clinicalReport, percentile } from '../../../rpm/clinical-report.js';
import { SiteCalendar } from '../../../rpm/site-calendar.js';

const utc = new SiteCalendar('UTC');
const at = (iso: string) => Date.parse(iso);
const one = (v: number): ReadingStats => ({ count: 1, value: { min: v, max: v, sum: v, n: 1 } });
const bp = (s: number, d: number): ReadingStats => ({
  count: 1,
  systolic: { min: s, max: s, sum: s, n: 1 },
  diastolic: { min: d, max: d, sum: d, n: 1 },
});

function report(
  stats: [ReadingType, [string, ReadingStats][]][],
  alerts: { raisedAt: number; ackedAt: number | null }[] = [],
) {
  return clinicalReport({
    patientId: 'pat_r',
    days: 7,
    from: at('2026-03-01T00:00:00Z'),
    to: at('2026-03-08T00:00:00Z'),
    sums: new Map(stats.map(([type, rows]) => [type, new Map(rows.map(([iso, s]) => [at(iso), s]))])),
    alerts: alerts.map((a, i) => ({ id: i, rule: 'spo2_low', severity: 'high', ...a })),
    calendar: utc,
  });
}

describe('clinical report', () => {
  it('percentiles interpolate between closest ranks', () => {
    const v = [10, 20, 30, 40, 50];
    expect(percentile(v, 50)).toBe(30);
    expect(percentile(v, 25)).toBe(20);
    expect(percentile(v, 5)).toBeCloseTo(12, 10); // h = 0.2: 10 + 0.2 * 10
    expect(percentile(v, 95)).toBeCloseTo(48, 10);
    expect(percentile([7], 95)).toBe(7);
  });

  it('glucose: time in ranges and the AGP per hour of the day', () => {
    const r = report([
      [
        'blood_glucose',
        [
          ['2026-03-01T08:00:00Z', one(50)],
          ['2026-03-02T08:00:00Z', one(65)],
          ['2026-03-03T08:00:00Z', one(120)],
          ['2026-03-04T08:10:00Z', one(180)],
          ['2026-03-05T08:20:00Z', one(200)],
          ['2026-03-06T20:00:00Z', one(300)],
        ],
      ],
    ]);
    expect(r.glucose!.timeInRanges).toEqual({
      very_low: 16.7,
      low: 16.7,
      in_range: 33.3,
      high: 16.7,
      very_high: 16.7,
    });
    expect(r.glucose!.agp).toEqual([
      { hour: 8, n: 5, p5: 53, p25: 65, p50: 120, p75: 180, p95: 196 },
      { hour: 20, n: 1, p5: 300, p25: 300, p50: 300, p75: 300, p95: 300 },
    ]);
  });

  it('blood pressure: morning and evening averages, share at or above 135/85', () => {
    const r = report([
      [
        'blood_pressure',
        [
          ['2026-03-01T07:00:00Z', bp(130, 80)],
          ['2026-03-02T07:00:00Z', bp(140, 80)],
          ['2026-03-01T19:00:00Z', bp(120, 86)],
          ['2026-03-02T14:00:00Z', bp(110, 70)],
        ],
      ],
    ]);
    expect(r.bloodPressure).toMatchObject({
      readings: 4,
      morning: { n: 2, systolic: 135, diastolic: 80 },
      evening: { n: 1, systolic: 120, diastolic: 86 },
      aboveTarget: 50,
    });
  });

  it('weight: change and trend per week; SpO2 and heart rate thresholds; alerts', () => {
    const r = report(
      [
        [
          'body_weight',
          [
            ['2026-03-01T07:00:00Z', one(80)],
            ['2026-03-08T07:00:00Z', one(81)],
            ['2026-03-15T07:00:00Z', one(82)],
          ],
        ],
        [
          'spo2',
          [
            ['2026-03-01T01:00:00Z', one(88)],
            ['2026-03-01T01:01:00Z', one(95)],
          ],
        ],
        [
          'heart_rate',
          [
            ['2026-03-01T01:00:00Z', one(45)],
            ['2026-03-01T01:01:00Z', one(70)],
            ['2026-03-01T01:02:00Z', one(120)],
            ['2026-03-01T01:03:00Z', one(80)],
          ],
        ],
      ],
      [
        { raisedAt: at('2026-03-01T01:00:00Z'), ackedAt: at('2026-03-01T01:04:00Z') },
        { raisedAt: at('2026-03-02T01:00:00Z'), ackedAt: at('2026-03-02T01:10:00Z') },
        { raisedAt: at('2026-03-03T01:00:00Z'), ackedAt: null },
      ],
    );
    expect(r.weight).toEqual({ readings: 3, first: 80, last: 82, change: 2, kgPerWeek: 1 });
    expect(r.spo2).toEqual({ minutes: 2, below90: 50, mean: 91.5 });
    expect(r.heartRate).toEqual({ minutes: 4, below50: 25, above100: 25, mean: 78.8 });
    expect(r.alerts).toEqual({
      raised: 3,
      acknowledged: 2,
      medianMinutesToAck: 7,
      longestMinutesToAck: 10,
      unacknowledged: 1,
    });
    expect(r.glucose).toBeNull();
    expect(r.bloodPressure).toBeNull();
  });
});
