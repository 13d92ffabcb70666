// The facade's Observation search writes its entries and Bundle as JSON text directly (the hot
// path of a FHIR client's walk); the text must be exactly what JSON.stringify writes for the
// resources the rest of the facade builds, for every kind of reading.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { searchsetBundle, searchsetBundleJson } from '../../../fhir/bundle.js';
import { observationEntryWriter, toObservation, type ReadingPoint } from '../../../fhir/observations.js';

const BASE = 'https://hub.example:8443/fhir/R4';
const PATIENT = 'pat_AbC-d_123456789';
const ts = Date.parse('2026-12-06T05:00:00.123Z');
const POINTS: ReadingPoint[] = [
  { ts, deviceId: 'wear-1', type: 'heart_rate', values: { value: 72 } },
  { ts, deviceId: 'oxi_2', type: 'spo2', values: { value: 97.5 } },
  { ts, deviceId: 'd', type: 'respiratory_rate', values: { value: 16 } },
  { ts, deviceId: 'd', type: 'body_temperature', values: { value: 36.65 } },
  { ts, deviceId: 'd', type: 'body_weight', values: { value: 80 } },
  { ts, deviceId: 'd', type: 'blood_glucose', values: { value: 5.4 } },
  { ts, deviceId: 'd', type: 'steps', values: { value: 1200 } },
  { ts, deviceId: 'cuff "1"', type: 'blood_pressure', values: { systolic: 121, diastolic: 79 } },
  { ts, deviceId: 'ecg', type: 'ecg', values: { samples: [1, -2, 3], sampleRateHz: 250 } },
  { ts, deviceId: 'wear-1', type: 'heart_rate', values: { value: Number.NaN } },
];

afterEach(() => vi.useRealTimers());

describe('Observation entries written as JSON text', () => {
  it.each(POINTS.map((p) => [p.type, p] as const))('%s: the same text JSON.stringify writes', (_type, p) => {
    const resource = toObservation(PATIENT, p, 'fhir')!;
    const entry = {
      fullUrl: `${BASE}/Observation/${String(resource.id)}`,
      resource,
      search: { mode: 'match' },
    };
    expect(observationEntryWriter(BASE, PATIENT)(p)).toBe(JSON.stringify(entry));
  });

  it('writes a page of readings of several devices, each with its own device', () => {
    const write = observationEntryWriter(BASE, PATIENT);
    for (const p of [
      ...POINTS,
      ...POINTS.map((q) => ({ ...q, ts: q.ts + 1, deviceId: `${q.deviceId}-2` })),
    ]) {
      const resource = toObservation(PATIENT, p, 'fhir')!;
      const entry = {
        fullUrl: `${BASE}/Observation/${String(resource.id)}`,
        resource,
        search: { mode: 'match' },
      };
      expect(write(p)).toBe(JSON.stringify(entry));
    }
  });

  it('writes nothing for a reading that is not an Observation', () => {
    expect(
      observationEntryWriter(
        BASE,
        PATIENT,
      )({
        ts,
        deviceId: 'd',
        type: 'location',
        values: { lat: 1, lon: 2 },
      }),
    ).toBeUndefined();
  });

  it('writes the searchset Bundle as JSON.stringify writes it, with and without a next link', () => {
    vi.useFakeTimers({ now: ts });
    for (const nextUrl of [undefined, `${BASE}/Observation?_cursor=1.2.3`]) {
      const page = { total: 12, selfUrl: `${BASE}/Observation?patient=x`, nextUrl };
      const entries = POINTS.slice(0, 3).map((p) => observationEntryWriter(BASE, PATIENT)(p)!);
      const resources = POINTS.slice(0, 3).map((p) => toObservation(PATIENT, p, 'fhir')!);
      expect(searchsetBundleJson(entries, page)).toBe(JSON.stringify(searchsetBundle(BASE, resources, page)));
      expect(searchsetBundleJson([], page)).toBe(JSON.stringify(searchsetBundle(BASE, [], page)));
    }
  });
});
