// The CSV export: one row per code, a patient without codes still listed, fields quoted where
// needed and formula characters neutralised (a spreadsheet never runs a cell).
import { describe, expect, it } from 'vitest';
import { buildMonthlyStatement } from '../../../rpm/monthly-statement.js';
import { statementsBundle, statementsCsv } from '../../../rpm/statement-export.js';
import { addDays } from '../../../rpm/site-calendar.js';

const statement = (patientId: string, practitioner: string | null, days: number) =>
  buildMonthlyStatement({
    month: '2026-02',
    timeZone: 'UTC',
    enrolment: {
      patientId,
      monitoringStart: '2026-01-20',
      endedOn: null,
      consentRecorded: true,
      setupDate: null,
      setupBilledBefore: false,
    },
    billingPractitioner: practitioner,
    sensedDates: Array.from({ length: days }, (_, i) => addDays('2026-01-20', i)),
    timeEntries: [],
  });

describe('statement export', () => {
  it('writes one row per code and one for a patient without codes, formulas neutralised', () => {
    const csv = statementsCsv([
      { statement: statement('pat_a', '=HYPERLINK("x")', 20), sha256: 'aa', closedAt: 0 },
      { statement: statement('pat_b', null, 1), sha256: 'bb', closedAt: 0 },
    ]);
    const rows = csv.trimEnd().split('\r\n');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toBe(
      `2026-02,pat_a,"'=HYPERLINK(""x"")",99454,1,"supply period 1 (2026-01-20..2026-02-18, 20 days)",true,,aa`,
    );
    expect(rows[2]).toBe('2026-02,pat_b,,,0,,false,no billing practitioner for the month,bb');
  });

  it('makes one ChargeItem per code with the period it was met in', () => {
    const bundle = statementsBundle(
      '2026-02',
      [{ statement: statement('pat_a', 'dr.b', 20), sha256: 'aa', closedAt: 0 }],
      0,
    ) as {
      entry: {
        resource: { code: { coding: { code: string }[] }; occurrencePeriod: unknown; status: string };
      }[];
    };
    expect(bundle.entry).toHaveLength(1);
    expect(bundle.entry[0]!.resource).toMatchObject({
      status: 'billable',
      code: { coding: [{ code: '99454' }] },
      occurrencePeriod: { start: '2026-01-20', end: '2026-02-18' },
    });
  });
});
