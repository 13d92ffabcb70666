// Adherence from hand-made presences: the rolling 30 days, the running period against 16 days,
// cadence per device, and the order of the programme view.
import { describe, expect, it } from 'vitest';
import { byFallingBehind, patientAdherence, type AdherenceFacts } from '../../../rpm/adherence.js';
import { SiteCalendar, addDays } from '../../../rpm/site-calendar.js';

const utc = new SiteCalendar('UTC');
const NOW = Date.parse('2026-03-20T12:00:00Z'); // today is 2026-03-20
const noon = (date: string) => Date.parse(`${date}T12:00:00Z`) - 2 * 3_600_000;
const facts = (over: Partial<AdherenceFacts>): AdherenceFacts => ({
  patientId: 'pat_a',
  monitoringStart: '2026-03-01',
  endedOn: null,
  devices: [
    { id: 'bp', kind: 'bp_monitor' },
    { id: 'scale', kind: 'weight_scale' },
  ],
  presences: [],
  lastSensed: new Map(),
  ...over,
});

describe('adherence', () => {
  it('counts distinct days in the rolling 30 days, per patient and per device, manual never', () => {
    const dates = ['2026-02-18', '2026-02-19', '2026-03-01', '2026-03-02', '2026-03-20'];
    const a = patientAdherence(
      facts({
        presences: [
          ...dates.map((d) => ({ at: noon(d), deviceId: 'bp' })),
          { at: noon('2026-03-02'), deviceId: 'scale' },
          { at: noon('2026-03-05'), deviceId: 'scale', modality: 'manual' as const },
        ],
        lastSensed: new Map([
          ['bp', noon('2026-03-20')],
          ['scale', noon('2026-03-02')],
        ]),
      }),
      utc,
      NOW,
    );
    expect(a.window).toEqual({ first: '2026-02-19', last: '2026-03-20' });
    expect(a.days).toBe(4); // 18 Feb is outside; 2 March twice is one day; 5 March manual
    expect(a.devices.map((d) => [d.deviceId, d.days, d.cadenceMet])).toEqual([
      ['bp', 4, true],
      ['scale', 1, false],
    ]);
    expect(a.behind).toBe(1);
    expect(a.lastReadingAt).toBe(new Date(noon('2026-03-20')).toISOString());
  });

  it('the running period: days so far, days left, and whether 16 are still reachable', () => {
    const some = Array.from({ length: 5 }, (_, i) => ({
      at: noon(addDays('2026-03-01', i)),
      deviceId: 'bp',
    }));
    const a = patientAdherence(facts({ presences: some }), utc, NOW);
    // 1..30 March; today (20th) has no data yet, so 11 days are left (20..30).
    expect(a.period).toEqual({
      index: 1,
      first: '2026-03-01',
      last: '2026-03-30',
      days: 5,
      daysLeft: 11,
      needed: 11,
      reachable: true,
    });
    const fewer = patientAdherence(facts({ presences: some.slice(0, 4) }), utc, NOW);
    expect(fewer.period).toMatchObject({ needed: 12, reachable: false });
  });

  it('a device that never sent is behind; no period before monitoring starts', () => {
    const a = patientAdherence(facts({ monitoringStart: '2026-04-01' }), utc, NOW);
    expect(a.period).toBeNull();
    expect(a.devices.every((d) => d.lastReadingAt === null && !d.cadenceMet)).toBe(true);
  });

  it('sorts who is falling behind first', () => {
    const days = (n: number, id: string) =>
      patientAdherence(
        facts({
          patientId: id,
          presences: Array.from({ length: n }, (_, i) => ({
            at: noon(addDays('2026-03-01', i)),
            deviceId: 'bp',
          })),
        }),
        utc,
        NOW,
      );
    const lost = days(2, 'lost'); // needs 14 in 11: unreachable
    const tight = days(8, 'tight'); // needs 8 in 11
    const fine = days(17, 'fine'); // met
    const none = patientAdherence(facts({ patientId: 'later', monitoringStart: '2026-04-01' }), utc, NOW);
    expect([fine, none, tight, lost].sort(byFallingBehind).map((p) => p.patientId)).toEqual([
      'lost',
      'tight',
      'fine',
      'later',
    ]);
  });
});
