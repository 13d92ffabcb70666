// The supervisor's backoff and bookkeeping, on fake timers and a stand-in for influxd (the real
// process is killed and restarted in test/e2e/influx-supervision.test.ts): an exit marks InfluxDB
// down and raises one event; failed starts wait 250, 500, 1000 ms; the restart clears the outage,
// raises one event, and watches the new process; after stop() an exit restarts nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { INFLUXDB_DOWN, INFLUXDB_RESTARTED, InfluxSupervisor } from '../../../hub/influx-supervisor.js';

function standIn(failures: number) {
  let end: () => void = () => {};
  const starts: number[] = [];
  const influxd = {
    logFile: '/dev/null',
    exited: new Promise<void>((r) => (end = r)),
    restart: vi.fn(async () => {
      starts.push(Date.now());
      if (starts.length <= failures) throw new Error('influxd did not start');
      influxd.exited = new Promise<void>((r) => (end = r));
    }),
    stop: vi.fn(async () => {}),
    killForRestart: vi.fn(async () => end()),
  };
  return { influxd, starts, die: () => end() };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('InfluxSupervisor', () => {
  it('restarts with doubling waits, marks the outage, and raises one event per outage and restart', async () => {
    const { influxd, starts, die } = standIn(2);
    const outages: (string | undefined)[] = [];
    const events: { kind: string; details?: Record<string, unknown> | null }[] = [];
    const restarted = vi.fn();
    const supervisor = new InfluxSupervisor({
      influxd,
      client: { setOutage: (r) => outages.push(r), ping: async () => true },
      events: { add: (e) => events.push(e) as never },
      logger: silentLogger(),
      onRestarted: restarted,
    });
    die();
    await vi.advanceTimersByTimeAsync(0);
    expect(outages).toEqual([expect.any(String)]);
    expect(events.map((e) => e.kind)).toEqual([INFLUXDB_DOWN]);
    await vi.advanceTimersByTimeAsync(250 + 500 + 1000);
    expect(starts.map((t) => t - 1_000_000)).toEqual([250, 750, 1750]);
    expect(outages).toEqual([expect.any(String), undefined]);
    expect(events.map((e) => e.kind)).toEqual([INFLUXDB_DOWN, INFLUXDB_RESTARTED]);
    expect(restarted).toHaveBeenCalledTimes(1);

    supervisor.stop();
    die();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(influxd.restart).toHaveBeenCalledTimes(3);
    expect(events).toHaveLength(2);
  });

  it('kills an influxd that misses three pings in a row, then restarts it', async () => {
    const { influxd } = standIn(0);
    const events: { kind: string; details?: Record<string, unknown> | null }[] = [];
    const supervisor = new InfluxSupervisor({
      influxd,
      client: { setOutage: () => {}, ping: async () => false },
      events: { add: (e) => events.push(e) as never },
      logger: silentLogger(),
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(influxd.killForRestart).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(influxd.killForRestart).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(events.map((e) => [e.kind, e.details?.reason])).toEqual([
      [INFLUXDB_DOWN, 'not_answering'],
      [INFLUXDB_RESTARTED, undefined],
    ]);
    supervisor.stop();
  });
});
