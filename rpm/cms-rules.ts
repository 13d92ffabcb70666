// The US Medicare billing rules for remote physiologic monitoring (RPM), calendar year 2026, as
// pure functions. Source: CMS-1832-F, the CY 2026 Medicare Physician Fee Schedule final rule
// (remote monitoring services), which adopts the CPT 2026 RPM code set:
//
//   99453  initial set-up and patient education on use of the equipment; once per episode of
//          care, reported when monitoring reaches the days a device-supply code needs (2 or more)
//   99454  device supply with daily recording or programmed alert transmission, 16-30 days of
//          data in a 30-day period
//   99445  the same, 2-15 days of data in a 30-day period (new in 2026); never with 99454 for
//          the same period
//   99457  treatment management, first 20 minutes of clinical staff / physician / QHP time in a
//          calendar month, with at least one real-time interactive communication with the
//          patient or caregiver
//   99458  each additional 20 minutes (add-on to 99457)
//   99470  treatment management, first 10 minutes in a calendar month, with at least one
//          real-time interactive communication (new in 2026); never with 99457
//
// Days are distinct calendar days with data, whatever the number of devices or readings; one
// practitioner bills a patient's device supply per 30-day period. Only data a device transmits
// by itself counts: readings typed in by a person (modality `manual`) are not physiologic
// monitoring. docs/RPM.md explains each rule and how VitalGate applies it.

export const RPM_RULE_SOURCE = 'CMS-1832-F (CY 2026 Medicare Physician Fee Schedule final rule), CPT 2026';

export type RpmCode = '99453' | '99454' | '99445' | '99457' | '99458' | '99470';

export const RPM_CODES: Record<RpmCode, string> = {
  '99453': 'Remote monitoring, initial set-up and patient education on use of equipment',
  '99454': 'Remote monitoring, device supply with daily recordings or programmed alerts, 16-30 days',
  '99445': 'Remote monitoring, device supply with daily recordings or programmed alerts, 2-15 days',
  '99457': 'Remote monitoring treatment management, first 20 minutes, with interactive communication',
  '99458': 'Remote monitoring treatment management, each additional 20 minutes',
  '99470': 'Remote monitoring treatment management, first 10 minutes, with interactive communication',
};

/** A device-supply period is 30 consecutive calendar days. */
export const SUPPLY_PERIOD_DAYS = 30;
/** Fewest days of data a device-supply code (99445) needs in a period. */
export const MIN_SUPPLY_DAYS = 2;
/** Fewest days of data for 99454; fewer (down to MIN_SUPPLY_DAYS) is 99445. */
export const FULL_SUPPLY_DAYS = 16;

/** The device-supply code of a 30-day period with `days` distinct days of sensed data. */
export function deviceSupplyCode(days: number): '99454' | '99445' | null {
  if (days >= FULL_SUPPLY_DAYS) return '99454';
  if (days >= MIN_SUPPLY_DAYS) return '99445';
  return null;
}

/** One entry of clinical staff time on a patient's treatment management. */
export interface TimeEntryFacts {
  minutes: number;
  /** A real-time interactive communication (audio or video) with the patient or caregiver. */
  interactive: boolean;
}

export interface TreatmentManagement {
  /** Confirmed minutes in the calendar month. */
  minutes: number;
  /** Whether any entry of the month included a real-time interactive communication. */
  interactive: boolean;
  /** Codes met, with units (99458 may have several). */
  codes: { code: '99457' | '99458' | '99470'; units: number }[];
  /** Why nothing (more) is billable, when that is the case. */
  note?: string;
}

/**
 * The treatment-management codes of one patient's calendar month from its confirmed time
 * entries: under 10 minutes nothing; 10-19 minutes 99470; 20 minutes or more 99457 and one
 * 99458 per further full 20 minutes (40 min: 99457 + 99458; 41 min: the same; 60: 99457 +
 * 2 x 99458). Every code needs at least one real-time interactive communication in the month.
 */
export function treatmentManagement(entries: readonly TimeEntryFacts[]): TreatmentManagement {
  const minutes = entries.reduce((sum, e) => sum + e.minutes, 0);
  const interactive = entries.some((e) => e.interactive);
  if (minutes < 10) return { minutes, interactive, codes: [], note: 'fewer than 10 minutes in the month' };
  if (!interactive)
    return {
      minutes,
      interactive,
      codes: [],
      note: 'no real-time interactive communication with the patient or caregiver in the month',
    };
  if (minutes < 20) return { minutes, interactive, codes: [{ code: '99470', units: 1 }] };
  const extra = Math.floor((minutes - 20) / 20);
  return {
    minutes,
    interactive,
    codes: [{ code: '99457', units: 1 }, ...(extra > 0 ? [{ code: '99458' as const, units: extra }] : [])],
  };
}
