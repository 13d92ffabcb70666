// FHIR search parameters: partial dates name whole periods, prefixes bound the range, and
// anything the CapabilityStatement does not name is refused, never ignored.
import { describe, expect, it } from 'vitest';
import { isVitalGateError } from '../../../core/errors.js';
import { dateRange, datePeriod, observationSearch } from '../../../fhir/search.js';
import { fhirPatientId, observationId, parseObservationId } from '../../../fhir/ids.js';

const now = Date.parse('2026-12-06T12:00:00.000Z');
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return isVitalGateError(err) ? err.code : 'other';
  }
  return 'none';
};

describe('FHIR dates', () => {
  it('reads YYYY, YYYY-MM, YYYY-MM-DD and dateTimes with a zone as periods', () => {
    expect(datePeriod('2026')).toEqual({
      start: Date.parse('2026-01-01T00:00:00Z'),
      end: Date.parse('2027-01-01T00:00:00Z') - 1,
    });
    expect(datePeriod('2024-02')).toEqual({
      start: Date.parse('2024-02-01T00:00:00Z'),
      end: Date.parse('2024-03-01T00:00:00Z') - 1,
    });
    expect(datePeriod('2026-11-30').end - datePeriod('2026-11-30').start).toBe(86_400_000 - 1);
    expect(datePeriod('2026-11-30T08:00:00+01:00').start).toBe(Date.parse('2026-11-30T07:00:00Z'));
    expect(datePeriod('2026-11-30T08:00:00.123Z')).toEqual({
      start: Date.parse('2026-11-30T08:00:00.123Z'),
      end: Date.parse('2026-11-30T08:00:00.123Z'),
    });
    for (const bad of ['2026-13-01', '2026-02-30', '2026-11-30T08:00', '30/11/2026', '']) {
      expect(
        code(() => datePeriod(bad)),
        bad,
      ).toBe('RANGE_INVALID');
    }
  });

  it('bounds a range with ge, gt, le, lt; defaults to the last 31 days; refuses wider or empty ones', () => {
    expect(dateRange(['ge2026-12-01', 'le2026-12-02'], now)).toEqual({
      from: Date.parse('2026-12-01T00:00:00Z'),
      to: Date.parse('2026-12-03T00:00:00Z') - 1,
    });
    expect(dateRange(['gt2026-12-01', 'lt2026-12-03'], now)).toEqual({
      from: Date.parse('2026-12-02T00:00:00Z'),
      to: Date.parse('2026-12-03T00:00:00Z') - 1,
    });
    expect(dateRange(['2026-12-05'], now)).toEqual({
      from: Date.parse('2026-12-05T00:00:00Z'),
      to: Date.parse('2026-12-06T00:00:00Z') - 1,
    });
    expect(dateRange([], now)).toEqual({ from: now - 31 * 86_400_000, to: now });
    expect(code(() => dateRange(['ge2026-01-01'], now))).toBe('RANGE_INVALID');
    expect(code(() => dateRange(['ge2026-12-02', 'le2026-12-01'], now))).toBe('RANGE_INVALID');
  });
});

describe('Observation search', () => {
  const patient = 'pat_abcdefgh_ij-kl';
  it('maps codes to reading types and refuses what it does not implement', () => {
    const s = observationSearch(
      {
        patient: `Patient/${fhirPatientId(patient)}`,
        code: 'http://loinc.org|85354-9,8867-4',
        _sort: '-date',
        _count: '10',
      },
      now,
    );
    expect(s).toMatchObject({
      patientId: patient,
      types: ['heart_rate', 'blood_pressure'],
      descending: true,
      count: 10,
      offset: 0,
    });
    expect(
      observationSearch({ patient: fhirPatientId(patient), code: 'http://snomed.info/sct|8867-4' }, now)
        .types,
    ).toEqual([]);
    for (const q of [
      {},
      { patient: 'Patient/x' },
      { patient: fhirPatientId(patient), _count: '5000' },
      { patient: fhirPatientId(patient), _sort: 'value' },
      { patient: fhirPatientId(patient), category: 'vital-signs' },
      { patient: [fhirPatientId(patient), fhirPatientId(patient)] },
    ]) {
      expect(
        code(() => observationSearch(q, now)),
        JSON.stringify(q),
      ).toBe('BAD_REQUEST');
    }
  });

  it('gives Observations ids that name their reading and read back', () => {
    const id = observationId(patient, 'wear_1', 'blood_pressure', 1_764_489_600_001);
    expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(parseObservationId(id)).toMatchObject({
      patientId: patient,
      type: 'blood_pressure',
      ts: 1_764_489_600_001,
    });
    expect(parseObservationId('pat.x.1.2.zz')).toBeUndefined();
  });
});
