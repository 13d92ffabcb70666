// Reading the hub's reaction back: the Prometheus text format, growth of counters between two
// scrapes (a hub restart resets them), and the latency sample's percentiles.
import { describe, expect, it } from 'vitest';
import { LatencySample } from '../../../simulators/fleet-summary.js';
import { growth, growthBy, parseMetrics, series } from '../../../simulators/hub-readback.js';

const scrape = (lines: string[]) => parseMetrics(lines.join('\n'));

describe('hub metrics', () => {
  it('parses counters with and without labels, in any label order', () => {
    const samples = scrape([
      '# HELP vitalgate_ingest_dead_letters_total Messages rejected for good',
      '# TYPE vitalgate_ingest_dead_letters_total counter',
      'vitalgate_ingest_dead_letters_total{reason="CLOCK_SKEW"} 2',
      'vitalgate_ingest_readings_accepted_total 1500',
      'vitalgate_device_messages_sent{device_id="ox-1",x="y"} 7',
      'vitalgate_device_messages_sent{x="z",device_id="ox-2"} 3',
    ]);
    expect(samples.get(series('vitalgate_ingest_dead_letters_total', { reason: 'CLOCK_SKEW' }))).toBe(2);
    expect(samples.get('vitalgate_ingest_readings_accepted_total')).toBe(1500);
    expect(samples.get(series('vitalgate_device_messages_sent', { x: 'z', device_id: 'ox-2' }))).toBe(3);
  });

  it('reports growth by label between scrapes, new series from zero', () => {
    const before = scrape(['m{reason="A"} 1', 'm{reason="B"} 5']);
    const after = scrape(['m{reason="A"} 4', 'm{reason="B"} 5', 'm{reason="C"} 2', 'other{reason="A"} 9']);
    expect(growthBy(before, after, 'm', 'reason')).toEqual({ A: 3, C: 2 });
  });

  it('treats a counter that went down as reset by a hub restart', () => {
    const before = scrape(['n 500', 'm{reason="A"} 10']);
    const after = scrape(['n 120', 'm{reason="A"} 3']);
    expect(growth(before, after, 'n')).toBe(120);
    expect(growthBy(before, after, 'm', 'reason')).toEqual({ A: 3 });
  });
});

describe('PUBACK latency sample', () => {
  it('gives nearest-rank percentiles and the true maximum', () => {
    const sample = new LatencySample();
    for (let i = 1; i <= 100; i++) sample.add(i);
    expect(sample.summary()).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('stays bounded on a long run and keeps the count', () => {
    let x = 0;
    const sample = new LatencySample(1_000, () => (x = (x * 9301 + 49297) % 233280) / 233280);
    for (let i = 0; i < 100_000; i++) sample.add(i % 100);
    const s = sample.summary()!;
    expect(s.count).toBe(100_000);
    expect(s.max).toBe(99);
    expect(s.p50).toBeGreaterThan(40);
    expect(s.p50).toBeLessThan(60);
  });

  it('is null before the first PUBACK', () => {
    expect(new LatencySample().summary()).toBeNull();
  });
});
