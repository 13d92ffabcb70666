// The MDC ↔ LOINC ↔ UCUM table against its sources: each 32-bit code is its partition's base plus
// the term code IEEE 11073-20601 gives (the values below are copied from the sources cited in
// core/nomenclature.ts, not computed from the table), and each LOINC code and unit is SPEC §4's.
import { describe, expect, it } from 'vitest';
import { READING_DEFINITIONS } from '../../../core/domain.js';
import { MDC_TERMS, mdcCodeFor, readingTermOf } from '../../../core/nomenclature.js';

const SOURCE: Record<string, { code: number; partition: number; term: number; loinc: string; ucum: string }> =
  {
    MDC_PRESS_BLD_NONINV: { code: 150020, partition: 2, term: 18948, loinc: '85354-9', ucum: 'mm[Hg]' },
    MDC_PRESS_BLD_NONINV_SYS: { code: 150021, partition: 2, term: 18949, loinc: '8480-6', ucum: 'mm[Hg]' },
    MDC_PRESS_BLD_NONINV_DIA: { code: 150022, partition: 2, term: 18950, loinc: '8462-4', ucum: 'mm[Hg]' },
    MDC_PULS_OXIM_SAT_O2: { code: 150456, partition: 2, term: 19384, loinc: '59408-5', ucum: '%' },
    MDC_PULS_OXIM_PULS_RATE: { code: 149530, partition: 2, term: 18458, loinc: '8867-4', ucum: '/min' },
    MDC_PULS_RATE_NON_INV: { code: 149546, partition: 2, term: 18474, loinc: '8867-4', ucum: '/min' },
    MDC_ECG_HEART_RATE: { code: 147842, partition: 2, term: 16770, loinc: '8867-4', ucum: '/min' },
    MDC_RESP_RATE: { code: 151562, partition: 2, term: 20490, loinc: '9279-1', ucum: '/min' },
    MDC_TEMP_BODY: { code: 150364, partition: 2, term: 19292, loinc: '8310-5', ucum: 'Cel' },
    MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD: {
      code: 160184,
      partition: 2,
      term: 29112,
      loinc: '2339-0',
      ucum: 'mg/dL',
    },
    MDC_MASS_BODY_ACTUAL: { code: 188736, partition: 2, term: 57664, loinc: '29463-7', ucum: 'kg' },
  };
const UNIT_SOURCE: Record<string, number> = {
  'mm[Hg]': 4 * 65536 + 3872,
  '%': 4 * 65536 + 544,
  '/min': 4 * 65536 + 2720,
  Cel: 4 * 65536 + 6048,
  'mg/dL': 4 * 65536 + 2130,
  kg: 4 * 65536 + 1731,
};

describe('the MDC table', () => {
  it('holds exactly the checked codes, each as its source gives it', () => {
    expect(Object.fromEntries(MDC_TERMS.map((t) => [t.refid, t.code]))).toEqual(
      Object.fromEntries(Object.entries(SOURCE).map(([refid, s]) => [refid, s.code])),
    );
    for (const term of MDC_TERMS) {
      const source = SOURCE[term.refid]!;
      expect(term.code, term.refid).toBe(source.partition * 65536 + source.term);
      expect(term.loinc, term.refid).toBe(source.loinc);
      expect(term.ucum, term.refid).toBe(source.ucum);
      // The respiration rate's MDC unit is per breath, a heart rate's per beat: both UCUM /min.
      if (term.type !== 'respiratory_rate') expect(term.mdcUnit, term.refid).toBe(UNIT_SOURCE[term.ucum]);
      else expect(term.mdcUnit).toBe(4 * 65536 + 2784);
    }
  });

  it('agrees with the reading definitions of SPEC §4', () => {
    for (const term of MDC_TERMS) {
      const def = READING_DEFINITIONS[term.type];
      expect('unit' in def && def.unit, term.refid).toBe(term.ucum);
    }
  });

  it('heads readings with whole measurements only, and picks the code by the measuring kind', () => {
    expect(readingTermOf(150020)?.type).toBe('blood_pressure');
    expect(readingTermOf(150021)).toBeUndefined(); // a component, not a reading
    expect(readingTermOf(8454247)).toBeUndefined();
    expect(mdcCodeFor('heart_rate', 'pulse_oximeter')?.code).toBe(149530);
    expect(mdcCodeFor('heart_rate', 'bp_monitor')?.code).toBe(149546);
    expect(mdcCodeFor('heart_rate', 'wearable')?.code).toBe(147842);
    expect(mdcCodeFor('steps')).toBeUndefined();
  });
});
