// The writer sends a batch's points and, of its one-minute rollup lines, only the last one of
// each rollup point: what InfluxDB keeps is the same, with one line instead of one per message
// (the final line repeats the open line's `o`, by which readers count a device's minute points).
// Closed minutes' statistics read back from their final lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient, type Precision } from '../../../core/influx.js';
import { InfluxTelemetryReader } from '../../../dashboard-api/telemetry/influx-reader.js';
import { ROLLUP_MEASUREMENT } from '../../../ingest/rollup-sealing.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient, openPipeline } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { countPoints, envelope, hr, ownDataDir } from './fixture.js';

class RecordingInflux extends InfluxClient {
  readonly sent: string[] = [];
  override async writeLines(lines: readonly string[], options: { precision?: Precision } = {}) {
    this.sent.push(...lines.flatMap((l) => l.split('\n')));
    return super.writeLines(lines, options);
  }
}

let pki: TestPki;
let influx: TestInflux;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

describe('rollup lines in the writer', () => {
  it('sends each rollup point once per batch and stores every reading once', async () => {
    const patientId = addPatient(pki);
    const client = new RecordingInflux({ url: influx.url, database: influx.database, timeoutMs: 2_000 });
    const { pipeline } = openPipeline(
      pki,
      influx,
      { VITALGATE_DATA_DIR: ownDataDir(), VITALGATE_WRITER_FLUSH_MS: '300' },
      client,
    );
    const device = { deviceId: 'wear-c', kind: 'wearable' as const, patientId };
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    for (let seq = 1; seq <= 40; seq++) {
      const readings =
        seq === 40
          ? [
              { ...hr(70), ts: minute + 59_000 },
              { ...hr(71), ts: minute + 60_000 },
            ]
          : [{ ...hr(60 + seq), ts: minute + seq * 1000 }];
      await pipeline.accept(device, envelope(seq, readings, minute + seq * 1000));
    }
    // The device moves on: both minutes are closed by this message's record.
    await pipeline.accept(device, envelope(41, [{ ...hr(80), ts: minute + 121_000 }], minute + 121_000));
    pipeline.start();
    expect(await pipeline.writer.drained()).toBe(true);
    await pipeline.stop();

    const points = client.sent.filter((l) => l.startsWith('telemetry,'));
    const rollups = client.sent.filter((l) => l.startsWith(`${ROLLUP_MEASUREMENT},`));
    expect(points).toHaveLength(42);
    expect(pipeline.writer.written).toBe(42);
    expect(await countPoints(client, "WHERE d = 'wear-c'")).toBe(42);
    // Three minutes touched, all in one batch: three rollup lines, not 43: the final lines of the
    // two closed minutes, and the open line of the third.
    expect(rollups).toHaveLength(3);
    expect(rollups.filter((l) => l.includes(' o=1i,c="') && l.includes(',r="'))).toHaveLength(2);
    // Every stored rollup point has `o`, closed ones too (the hourly view counts points by it).
    const [stored] = await client.query(`SELECT o, c FROM ${ROLLUP_MEASUREMENT} WHERE d = 'wear-c'`);
    expect(stored!.rows.map((r) => [r.o, typeof r.c === 'string' ? 'closed' : 'open'])).toEqual([
      [1, 'closed'],
      [1, 'closed'],
      [1, 'open'],
    ]);
    const stats = await new InfluxTelemetryReader(client, pki.keyring, { worker: false }).readMinuteStats({
      patientId,
      from: minute,
      to: minute + 3 * 60_000 - 1,
    });
    // The third minute is not closed: its statistics come from its point.
    expect(stats.get('heart_rate')!.get(minute + 120_000)).toEqual({
      count: 1,
      value: { min: 80, max: 80, sum: 80, n: 1 },
    });
    expect(stats.get('heart_rate')!.get(minute)).toEqual({
      count: 40,
      value: { min: 61, max: 99, sum: 70 + ((61 + 99) * 39) / 2, n: 40 },
    });
    expect(stats.get('heart_rate')!.get(minute + 60_000)).toEqual({
      count: 1,
      value: { min: 71, max: 71, sum: 71, n: 1 },
    });
  });
});
