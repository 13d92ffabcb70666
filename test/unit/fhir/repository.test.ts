// Keyset paging of Observation searches: pages start where the previous one ended, readings that
// share an instant are neither repeated nor lost across a page boundary, and `total` stays the
// whole range's. The readings come from an in-memory list standing in for the decrypting
// InfluxDB reader (its own tests use a real InfluxDB); this tests the paging arithmetic only.
import { describe, expect, it } from 'vitest';
import type { ReadingType } from '../../../core/domain.js';
import type { ReadingPoint } from '../../../fhir/observations.js';
import { StoreFhirRepository } from '../../../fhir/repository.js';
import type { ObservationSearch } from '../../../fhir/search.js';

const patientId = 'pat_abcdefghijkl';
const t0 = Date.parse('2026-11-30T08:00:00Z');
// Three devices, four instants each: ties at every instant.
const readings: ReadingPoint[] = [];
for (let i = 0; i < 4; i++)
  for (const deviceId of ['a', 'b', 'c'])
    readings.push({
      ts: t0 + i * 1000,
      deviceId,
      type: 'heart_rate',
      values: { value: 60 + i, unit: '/min' },
    });

const source = {
  reads: [] as { from: number; limit: number }[],
  async raw(_p: string, from: number, to: number, types: readonly ReadingType[] | undefined, limit: number) {
    this.reads.push({ from, limit });
    return readings
      .filter((r) => r.ts >= from && r.ts <= to && (!types || types.includes(r.type)))
      .slice(0, limit);
  },
  async count(_p: string, from: number, to: number) {
    return readings.filter((r) => r.ts >= from && r.ts <= to).length;
  },
};

const repository = new StoreFhirRepository({
  patients: { list: () => [{ id: patientId, erasedAt: null }], get: () => ({ erasedAt: null }) },
  demographics: { get: () => ({ name: 'x', birthDate: '1950-01-01' }) },
  devices: { list: () => [] },
  readings: source,
});

describe('Observation keyset paging', () => {
  it('walks every reading once across ties, each page reading only from where the last ended', async () => {
    const search: ObservationSearch = {
      patientId,
      types: ['heart_rate'],
      from: t0,
      to: t0 + 10_000,
      descending: false,
      count: 5,
      offset: 0,
    };
    const seen: string[] = [];
    let cursor: ObservationSearch['cursor'];
    let pages = 0;
    do {
      const page = await repository.searchObservations({ ...search, cursor });
      expect(page.total).toBe(12);
      seen.push(...page.resources.map((r) => String(r.id)));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    // Later pages start at the previous page's last instant, never back at the range's start.
    expect(source.reads.map((r) => r.from)).toEqual([t0, t0 + 1000, t0 + 3000]);
  });
});
