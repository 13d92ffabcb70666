// A month's statement from hand-made facts: which periods it bills, 99453 once, and why a
// month is not billable.
import { describe, expect, it } from 'vitest';
import { buildMonthlyStatement, type StatementInput } from '../../../rpm/monthly-statement.js';
import { addDays } from '../../../rpm/site-calendar.js';

const days = (first: string, n: number) => Array.from({ length: n }, (_, i) => addDays(first, i));
const base: StatementInput = {
  month: '2026-02',
  timeZone: 'America/New_York',
  enrolment: {
    patientId: 'pat_a',
    monitoringStart: '2026-01-20',
    endedOn: null,
    consentRecorded: true,
    setupDate: '2026-01-20',
    setupBilledBefore: false,
  },
  billingPractitioner: 'dr.grey',
  sensedDates: days('2026-01-20', 20),
  timeEntries: [
    {
      id: 1,
      startedAt: '2026-02-03T15:00:00.000Z',
      minutes: 12,
      activity: 'data_review',
      interactive: false,
      clinician: 'rn.a',
    },
    {
      id: 2,
      startedAt: '2026-02-10T15:00:00.000Z',
      minutes: 9,
      activity: 'patient_call',
      interactive: true,
      clinician: 'rn.a',
    },
  ],
};

describe('monthly statement', () => {
  it('bills the period ending in the month, 99453 with the first one, and the month’s time', () => {
    const s = buildMonthlyStatement(base);
    expect(s.codes.map((c) => c.code)).toEqual(['99453', '99454', '99457']);
    expect(s.supplyPeriods).toHaveLength(1);
    expect(s.supplyPeriods[0]).toMatchObject({ first: '2026-01-20', last: '2026-02-18', days: 20 });
    expect(s.billable).toBe(true);
    expect(s.rule).toMatch(/CMS-1832-F/);
  });

  it('bills 99453 once per enrolment', () => {
    const s = buildMonthlyStatement({ ...base, enrolment: { ...base.enrolment, setupBilledBefore: true } });
    expect(s.codes.map((c) => c.code)).toEqual(['99454', '99457']);
  });

  it('a month no period ends in has no device-supply code', () => {
    const s = buildMonthlyStatement({ ...base, month: '2026-01', timeEntries: [] });
    expect(s.codes).toEqual([]);
    expect(s.billable).toBe(false);
  });

  it('keeps the evidence but is not billable without consent or a billing practitioner', () => {
    const s = buildMonthlyStatement({
      ...base,
      billingPractitioner: null,
      enrolment: { ...base.enrolment, consentRecorded: false },
    });
    expect(s.codes.length).toBeGreaterThan(0);
    expect(s.billable).toBe(false);
    expect(s.problems).toEqual(['no consent recorded', 'no billing practitioner for the month']);
  });
});
