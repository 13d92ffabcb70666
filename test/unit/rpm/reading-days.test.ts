// Day counting for device supply (99453/99454/99445) with hand-made calendars at the edges.
import { describe, expect, it } from 'vitest';
import { deviceSupplyCode } from '../../../rpm/cms-rules.js';
import {
  evaluateSupplyPeriod,
  sensedDates,
  supplyPeriodsEnding,
  type ReadingPresence,
} from '../../../rpm/reading-days.js';
import { SiteCalendar, addDays } from '../../../rpm/site-calendar.js';

const ny = new SiteCalendar('America/New_York');
const at = (iso: string) => Date.parse(iso);
const sensed = (iso: string, deviceId = 'bp-1'): ReadingPresence => ({ at: at(iso), deviceId });

describe('days of data in the site time zone', () => {
  it('a reading at 23:59 and one at 00:01 local are two days, though both are one UTC date', () => {
    // 23:59 EST on 14 Jan is 04:59Z on 15 Jan; 00:01 EST on 15 Jan is 05:01Z on 15 Jan.
    const dates = sensedDates([sensed('2026-01-15T04:59:00Z'), sensed('2026-01-15T05:01:00Z')], ny);
    expect(dates).toEqual(['2026-01-14', '2026-01-15']);
  });

  it('23:59 and 00:01 UTC are one local day in New York', () => {
    expect(sensedDates([sensed('2026-01-14T23:59:00Z'), sensed('2026-01-15T00:01:00Z')], ny)).toEqual([
      '2026-01-14',
    ]);
  });

  it('counts the 25-hour day of the autumn change once, and its edges right', () => {
    // 1 Nov 2026: 02:00 EDT falls back to 01:00 EST; the day runs 04:00Z..05:00Z next day.
    expect(ny.startOf('2026-11-01')).toBe(at('2026-11-01T04:00:00Z'));
    expect(ny.startOf('2026-11-02')).toBe(at('2026-11-02T05:00:00Z'));
    const dates = sensedDates(
      [
        sensed('2026-11-01T04:00:00Z'), // 00:00 EDT
        sensed('2026-11-01T05:30:00Z'), // 01:30 EDT
        sensed('2026-11-01T06:30:00Z'), // 01:30 EST, the repeated hour
        sensed('2026-11-02T04:59:00Z'), // 23:59 EST
        sensed('2026-11-02T05:00:00Z'), // 00:00 EST on 2 Nov
      ],
      ny,
    );
    expect(dates).toEqual(['2026-11-01', '2026-11-02']);
  });

  it('the 23-hour day of the spring change ends at local midnight, not 24 h after its start', () => {
    expect(ny.startOf('2026-03-08')).toBe(at('2026-03-08T05:00:00Z'));
    expect(ny.startOf('2026-03-09')).toBe(at('2026-03-09T04:00:00Z'));
    // 23:30 EDT on 8 March is 03:30Z on 9 March: still 8 March.
    expect(sensedDates([sensed('2026-03-09T03:30:00Z')], ny)).toEqual(['2026-03-08']);
    expect(sensedDates([sensed('2026-03-09T04:00:00Z')], ny)).toEqual(['2026-03-09']);
  });

  it('a day whose midnight does not exist starts at the first local minute', () => {
    // Chile moves from 00:00 -04 to 01:00 -03 on 6 September 2026.
    const santiago = new SiteCalendar('America/Santiago');
    expect(santiago.startOf('2026-09-06')).toBe(at('2026-09-06T04:00:00Z'));
    expect(santiago.dateOf(at('2026-09-06T04:00:00Z'))).toBe('2026-09-06');
    expect(santiago.dateOf(at('2026-09-06T03:59:00Z'))).toBe('2026-09-05');
  });

  it('two devices on one day make one day', () => {
    const dates = sensedDates(
      [sensed('2026-02-03T14:00:00Z', 'bp-1'), sensed('2026-02-03T15:00:00Z', 'scale-1')],
      ny,
    );
    expect(dates).toEqual(['2026-02-03']);
  });

  it('manual entries never count, a missing modality counts as sensed', () => {
    const manual: ReadingPresence[] = [
      { at: at('2026-02-03T14:00:00Z'), deviceId: 'gw-cuff', modality: 'manual' },
      { at: at('2026-02-04T14:00:00Z'), deviceId: 'gw-cuff', modality: 'manual' },
    ];
    expect(sensedDates(manual, ny)).toEqual([]);
    const period = { index: 1, first: '2026-02-01', last: '2026-03-02' };
    expect(evaluateSupplyPeriod(period, sensedDates(manual, ny))).toMatchObject({ days: 0, code: null });
    expect(
      sensedDates([...manual, { at: at('2026-02-05T14:00:00Z'), deviceId: 'ox-1', modality: 'sensed' }], ny),
    ).toEqual(['2026-02-05']);
    expect(sensedDates([...manual, sensed('2026-02-06T14:00:00Z')], ny)).toEqual(['2026-02-06']);
  });
});

describe('device-supply periods', () => {
  const period = { index: 1, first: '2026-01-20', last: '2026-02-18' };
  const daysFrom = (first: string, n: number) => Array.from({ length: n }, (_, i) => addDays(first, i));

  it('exactly 15 days is 99445, exactly 16 days is 99454, never both', () => {
    expect(evaluateSupplyPeriod(period, daysFrom('2026-01-20', 15))).toMatchObject({
      days: 15,
      code: '99445',
    });
    expect(evaluateSupplyPeriod(period, daysFrom('2026-01-20', 16))).toMatchObject({
      days: 16,
      code: '99454',
    });
    expect(deviceSupplyCode(1)).toBeNull();
    expect(deviceSupplyCode(2)).toBe('99445');
    expect(deviceSupplyCode(30)).toBe('99454');
  });

  it('a period crossing a month counts the days of both months and ends in the second', () => {
    const dates = [...daysFrom('2026-01-25', 7), ...daysFrom('2026-02-01', 9), '2026-02-19', '2026-01-19'];
    const result = evaluateSupplyPeriod(period, dates.sort());
    expect(result.days).toBe(16); // 25..31 Jan and 1..9 Feb; 19 Jan and 19 Feb are outside
    expect(result.code).toBe('99454');
    expect(result.dates[0]).toBe('2026-01-25');
    expect(result.dates.at(-1)).toBe('2026-02-09');
    expect(supplyPeriodsEnding('2026-01-20', null, '2026-01-01', '2026-01-31')).toEqual([]);
    expect(supplyPeriodsEnding('2026-01-20', null, '2026-02-01', '2026-02-28')).toEqual([period]);
  });

  it('periods run back to back from the monitoring start and stop at the enrolment end', () => {
    expect(supplyPeriodsEnding('2026-01-01', null, '2026-01-01', '2026-03-31')).toEqual([
      { index: 1, first: '2026-01-01', last: '2026-01-30' },
      { index: 2, first: '2026-01-31', last: '2026-03-01' },
      { index: 3, first: '2026-03-02', last: '2026-03-31' },
    ]);
    expect(supplyPeriodsEnding('2026-01-01', '2026-02-10', '2026-02-01', '2026-02-28')).toEqual([
      { index: 2, first: '2026-01-31', last: '2026-02-10' },
    ]);
  });
});
