// The 99457/99458/99470 rules on a calendar month's confirmed time.
import { describe, expect, it } from 'vitest';
import { treatmentManagement } from '../../../rpm/cms-rules.js';

const codes = (minutes: number, interactive: boolean) =>
  treatmentManagement([{ minutes, interactive }]).codes.map((c) => `${c.code}x${c.units}`);

describe('treatment management time', () => {
  it.each([
    [9, []],
    [10, ['99470x1']],
    [19, ['99470x1']],
    [20, ['99457x1']],
    [39, ['99457x1']],
    [40, ['99457x1', '99458x1']],
    [41, ['99457x1', '99458x1']],
    [60, ['99457x1', '99458x2']],
  ])('%i minutes with an interactive communication: %j', (minutes, expected) => {
    expect(codes(minutes, true)).toEqual(expected);
  });

  it.each([9, 10, 19, 20, 40, 41])(
    '%i minutes without an interactive communication bill nothing',
    (minutes) => {
      const result = treatmentManagement([{ minutes, interactive: false }]);
      expect(result.codes).toEqual([]);
      expect(result.note).toMatch(minutes < 10 ? /fewer than 10/ : /interactive/);
    },
  );

  it('adds the month’s entries, and one interactive entry is enough', () => {
    const result = treatmentManagement([
      { minutes: 12, interactive: false },
      { minutes: 9, interactive: true },
      { minutes: 19, interactive: false },
    ]);
    expect(result).toMatchObject({ minutes: 40, interactive: true });
    expect(result.codes).toEqual([
      { code: '99457', units: 1 },
      { code: '99458', units: 1 },
    ]);
  });

  it('99470 and 99457 are never billed together', () => {
    for (let m = 0; m <= 120; m++) {
      const c = treatmentManagement([{ minutes: m, interactive: true }]).codes.map((x) => x.code);
      expect(c.includes('99470') && c.includes('99457')).toBe(false);
    }
  });
});
