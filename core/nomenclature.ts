// The one table of IEEE 11073-10101 (MDC) codes the hub accepts, each with the reading type it
// names, that type's LOINC code and its UCUM unit (SPEC §4). A reading may name its type by MDC
// code instead of by name (docs/GATEWAYS.md); a code whose unit disagrees with the reading's is
// refused (UNIT_MISMATCH), a code not in this table is an unknown type.
//
// Every code below was checked on 2026-12-06 against its source:
//  - MDC codes: the 32-bit code is partition × 2^16 + term code (IEEE 11073-20601 Annex A, and
//    the HL7 FHIR Personal Health Device IG, "Nomenclature codes":
//    http://hl7.org/fhir/uv/phd/Nomenclaturecodes.html). Partition 2 is SCADA (physiological
//    measurements), 4 is DIM (units). Codes the PHD IG's own examples carry are cited by example
//    (github.com/HL7/phd, input/examples/): 150020/150021/150022 in
//    compound-numeric-blood-pressure-no-mean.json, 150456 and 149530 in
//    bundle-continuousnonin.json, 150364 in temperature-observation.json, 160184 in
//    compound-observation-glucose.json, 131328 (MDC_ECG_ELEC_POTL) in core/domain.ts. The others
//    are computed from the term codes of IEEE 11073-20601 (MDC_MASS_BODY_ACTUAL 57664,
//    MDC_PULS_RATE_NON_INV 18474, MDC_RESP_RATE 20490) and IEEE 11073-10101 (MDC_ECG_HEART_RATE
//    16770, which the PHD IG names as 147842 on its "Nomenclature codes" page).
//  - LOINC codes: loinc.org, as SPEC §4 lists them (core/domain.ts READING_DEFINITIONS); the PHD
//    IG's examples pair 150020/85354-9, 150021/8480-6, 150022/8462-4, 150364/8310-5 and
//    150456/59408-5 the same way.
//  - UCUM units: unitsofmeasure.org, as SPEC §4; the MDC unit codes are partition 4 (DIM) term
//    codes of IEEE 11073-20601: MDC_DIM_MMHG 3872, MDC_DIM_PERCENT 544, MDC_DIM_BEAT_PER_MIN
//    2720, MDC_DIM_RESP_PER_MIN 2784, MDC_DIM_KILO_G 1731, MDC_DIM_DEGC 6048,
//    MDC_DIM_MILLI_G_PER_DL 2130.
// Steps have no MDC code here: the health-and-fitness partition's step count was not found in a
// source we could check, so `steps` is accepted by name only.
import { READING_DEFINITIONS, type ReadingType } from './domain.js';

export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';

export interface MdcTerm {
  /** The 32-bit MDC code. */
  readonly code: number;
  /** The reference identifier. */
  readonly refid: string;
  /** The reading type it names. */
  readonly type: ReadingType;
  /** The LOINC code of that type (or of the component, for systolic/diastolic). */
  readonly loinc: string;
  /** The UCUM unit a reading with this code must carry. */
  readonly ucum: string;
  /** The MDC unit code (partition 4) of that unit. */
  readonly mdcUnit: number;
  /** For a compound's component (systolic, diastolic): the field of the reading it names. */
  readonly component?: 'systolic' | 'diastolic';
}

const SCADA = 2 * 65_536;
const DIM = 4 * 65_536;

/** MDC code → term. Only codes that name a whole reading may head a reading (not components). */
export const MDC_TERMS: readonly MdcTerm[] = [
  {
    code: SCADA + 18_948,
    refid: 'MDC_PRESS_BLD_NONINV',
    type: 'blood_pressure',
    loinc: '85354-9',
    ucum: 'mm[Hg]',
    mdcUnit: DIM + 3_872,
  },
  {
    code: SCADA + 18_949,
    refid: 'MDC_PRESS_BLD_NONINV_SYS',
    type: 'blood_pressure',
    loinc: '8480-6',
    ucum: 'mm[Hg]',
    mdcUnit: DIM + 3_872,
    component: 'systolic',
  },
  {
    code: SCADA + 18_950,
    refid: 'MDC_PRESS_BLD_NONINV_DIA',
    type: 'blood_pressure',
    loinc: '8462-4',
    ucum: 'mm[Hg]',
    mdcUnit: DIM + 3_872,
    component: 'diastolic',
  },
  {
    code: SCADA + 19_384,
    refid: 'MDC_PULS_OXIM_SAT_O2',
    type: 'spo2',
    loinc: '59408-5',
    ucum: '%',
    mdcUnit: DIM + 544,
  },
  {
    code: SCADA + 18_458,
    refid: 'MDC_PULS_OXIM_PULS_RATE',
    type: 'heart_rate',
    loinc: '8867-4',
    ucum: '/min',
    mdcUnit: DIM + 2_720,
  },
  {
    code: SCADA + 18_474,
    refid: 'MDC_PULS_RATE_NON_INV',
    type: 'heart_rate',
    loinc: '8867-4',
    ucum: '/min',
    mdcUnit: DIM + 2_720,
  },
  {
    code: SCADA + 16_770,
    refid: 'MDC_ECG_HEART_RATE',
    type: 'heart_rate',
    loinc: '8867-4',
    ucum: '/min',
    mdcUnit: DIM + 2_720,
  },
  {
    code: SCADA + 20_490,
    refid: 'MDC_RESP_RATE',
    type: 'respiratory_rate',
    loinc: '9279-1',
    ucum: '/min',
    mdcUnit: DIM + 2_784,
  },
  {
    code: SCADA + 19_292,
    refid: 'MDC_TEMP_BODY',
    type: 'body_temperature',
    loinc: '8310-5',
    ucum: 'Cel',
    mdcUnit: DIM + 6_048,
  },
  {
    code: SCADA + 29_112,
    refid: 'MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD',
    type: 'blood_glucose',
    loinc: '2339-0',
    ucum: 'mg/dL',
    mdcUnit: DIM + 2_130,
  },
  {
    code: SCADA + 57_664,
    refid: 'MDC_MASS_BODY_ACTUAL',
    type: 'body_weight',
    loinc: '29463-7',
    ucum: 'kg',
    mdcUnit: DIM + 1_731,
  },
];

/**
 * IEEE 11073-20601 device specializations (partition 8, INFRA; term codes as the PHD IG's
 * "Continua Personal Area Network codes" page lists them, e.g. 4100 MDC_DEV_SPEC_PROFILE_PULS_OXIM,
 * whose 32-bit code 528388 the PHD IG's Device examples carry), per measuring kind.
 */
const INFRA = 8 * 65_536;
export const DEVICE_SPECIALIZATIONS: Readonly<Record<string, { code: number; refid: string; text: string }>> =
  {
    pulse_oximeter: { code: INFRA + 4_100, refid: 'MDC_DEV_SPEC_PROFILE_PULS_OXIM', text: 'Pulse Oximeter' },
    bp_monitor: { code: INFRA + 4_103, refid: 'MDC_DEV_SPEC_PROFILE_BP', text: 'Blood Pressure Cuff' },
    thermometer: { code: INFRA + 4_104, refid: 'MDC_DEV_SPEC_PROFILE_TEMP', text: 'Thermometer' },
    weight_scale: { code: INFRA + 4_111, refid: 'MDC_DEV_SPEC_PROFILE_SCALE', text: 'Weight Scale' },
    glucometer: { code: INFRA + 4_113, refid: 'MDC_DEV_SPEC_PROFILE_GLUCOSE', text: 'Glucose Monitor' },
  };

const BY_CODE: ReadonlyMap<number, MdcTerm> = new Map(MDC_TERMS.map((t) => [t.code, t]));

/** The term of an MDC code a reading may be headed by (a whole reading, not a component). */
export function readingTermOf(code: number): MdcTerm | undefined {
  const term = BY_CODE.get(code);
  return term && !term.component ? term : undefined;
}

export function mdcTerm(code: number): MdcTerm | undefined {
  return BY_CODE.get(code);
}

/**
 * The MDC code an Observation of `type` carries, given the kind of device that measured it
 * (a heart rate from a pulse oximeter is its pulse rate, from a cuff the cuff's, else the ECG's),
 * or undefined when the type has none in the table.
 */
export function mdcCodeFor(type: ReadingType, kind?: string): MdcTerm | undefined {
  const refid =
    type === 'heart_rate'
      ? kind === 'pulse_oximeter'
        ? 'MDC_PULS_OXIM_PULS_RATE'
        : kind === 'bp_monitor'
          ? 'MDC_PULS_RATE_NON_INV'
          : 'MDC_ECG_HEART_RATE'
      : undefined;
  return MDC_TERMS.find((t) => t.type === type && !t.component && (refid === undefined || t.refid === refid));
}

/** The component terms (systolic, diastolic) of the blood-pressure compound. */
export function componentTerm(component: 'systolic' | 'diastolic'): MdcTerm {
  return MDC_TERMS.find((t) => t.component === component)!;
}

// The table must agree with SPEC §4 (READING_DEFINITIONS): checked once, at load.
for (const term of MDC_TERMS) {
  const def = READING_DEFINITIONS[term.type];
  const loinc =
    def.shape === 'blood_pressure'
      ? term.component
        ? def[term.component].loinc
        : def.loinc
      : 'loinc' in def
        ? def.loinc
        : undefined;
  const unit = 'unit' in def ? def.unit : undefined;
  if (loinc !== term.loinc || unit !== term.ucum)
    throw new Error(`nomenclature: ${term.refid} disagrees with the ${term.type} definition`);
}
