// Opening a spool after a crash, on real files damaged the way crashes and disks damage them:
// a record cut mid-write, a zero-filled tail, a flipped byte (CRC), a corrupt length in an older
// segment, a stale or foreign file, a lost cursor. Earlier records must come through intact.
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolOptions, type SpoolRepair } from '../../../ingest/spool.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../../ingest/spool-segment.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-spool-recovery-'));
  dirs.push(dir);
  return dir;
}

function openSpool(dir: string, repairs: unknown[] = [], options: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({
    dir,
    segmentBytes: 1 << 20,
    quotaBytes: 1 << 24,
    groupCommitMs: 0,
    onRepair: (r) => repairs.push(r),
    ...options,
  });
}

const BODY = 50;
const RECORD = RECORD_HEADER_BYTES + BODY;
const body = (i: number) => Buffer.from(`record-${i}-`.padEnd(BODY, '.'));
const texts = (spool: Spool) =>
  spool.read(spool.confirmed(), 10_000).map((r) => r.body.toString().replace(/\.+$/, ''));
const segmentFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('segment-'))
    .sort();
const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `record-${from + i}-`);

async function filled(dir: string, n: number, options: Partial<SpoolOptions> = {}): Promise<string> {
  const spool = openSpool(dir, [], options);
  for (let i = 0; i < n; i++) await spool.append(body(i));
  await spool.close();
  return join(dir, segmentFiles(dir).pop()!);
}

describe('torn tails', () => {
  it('a record cut mid-write is truncated on open; earlier records are intact and LSNs carry on', async () => {
    const dir = tempDir();
    const file = await filled(dir, 10);
    truncateSync(file, statSync(file).size - 7);
    const repairs: SpoolRepair[] = [];
    const spool = openSpool(dir, repairs);
    expect(spool.stats.repairedTails).toBe(1);
    expect(repairs).toEqual([{ kind: 'torn_tail', segment: 1, bytes: RECORD - 7 }]);
    expect(statSync(file).size).toBe(SEGMENT_HEADER_BYTES + 9 * RECORD);
    expect(texts(spool)).toEqual(names(0, 9));
    expect(await spool.append(body(9))).toBe(10);
    await spool.close();
    expect(texts(openSpool(dir))).toEqual(names(0, 10));
  });

  it('a partial record header, or a zero-filled tail, is cut too', async () => {
    for (const tail of [Buffer.from([0x32, 0, 0, 0, 9, 9]), Buffer.alloc(4096)]) {
      const dir = tempDir();
      const file = await filled(dir, 5);
      appendFileSync(file, tail);
      const spool = openSpool(dir);
      expect(spool.stats.repairedTails).toBe(1);
      expect(texts(spool)).toEqual(names(0, 5));
      await spool.close();
    }
  });

  it('a flipped byte in the last record fails its CRC and the record is cut', async () => {
    const dir = tempDir();
    const file = await filled(dir, 5);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(file, bytes);
    const spool = openSpool(dir);
    expect(spool.stats.repairedTails).toBe(1);
    expect(texts(spool)).toEqual(names(0, 4));
    await spool.close();
  });

  it('a segment created but never written (crash during rotation) is removed', async () => {
    const dir = tempDir();
    await filled(dir, 3);
    writeFileSync(join(dir, 'segment-000000000002.log'), Buffer.alloc(0));
    const repairs: SpoolRepair[] = [];
    const spool = openSpool(dir, repairs);
    expect(repairs).toEqual([{ kind: 'unwritten_segment', segment: 2 }]);
    expect(await spool.append(body(3))).toBe(4);
    expect(texts(spool)).toEqual(names(0, 4));
    await spool.close();
  });
});

describe('corruption that is not a crash', () => {
  it('a corrupt record followed by valid ones is skipped, counted and reported; the rest survive', async () => {
    const dir = tempDir();
    const file = await filled(dir, 6);
    const bytes = readFileSync(file);
    bytes[SEGMENT_HEADER_BYTES + 2 * RECORD + RECORD_HEADER_BYTES + 4]! ^= 0xff; // body of record-2
    writeFileSync(file, bytes);
    const repairs: SpoolRepair[] = [];
    const spool = openSpool(dir, repairs);
    expect(repairs).toEqual([{ kind: 'corrupt_record', segment: 1, lsn: 3 }]);
    expect(spool.stats).toMatchObject({ corruptRecords: 1, lostRecords: 1, repairedTails: 0 });
    expect(texts(spool)).toEqual(['record-0-', 'record-1-', 'record-3-', 'record-4-', 'record-5-']);
    expect(spool.read(spool.confirmed(), 10).map((r) => r.lsn)).toEqual([1, 2, 4, 5, 6]);
    expect(await spool.append(body(6))).toBe(7);
    await spool.close();
  });

  it('a broken length in an older segment cuts that segment; the loss is counted from the LSN gap', async () => {
    const dir = tempDir();
    await filled(dir, 30, { segmentBytes: 400 });
    const [first, second] = segmentFiles(dir);
    const bytes = readFileSync(join(dir, first!));
    const perSegment = (bytes.length - SEGMENT_HEADER_BYTES) / RECORD;
    bytes.writeUInt32LE(0xffff_ffff, SEGMENT_HEADER_BYTES + 2 * RECORD); // length of the 3rd record
    writeFileSync(join(dir, first!), bytes);
    const repairs: SpoolRepair[] = [];
    const spool = openSpool(dir, repairs);
    expect(repairs).toEqual([
      { kind: 'truncated_segment', segment: 1, bytes: (perSegment - 2) * RECORD },
      { kind: 'lost_records', segment: 1, records: perSegment - 2 },
    ]);
    expect(spool.stats.lostRecords).toBe(perSegment - 2);
    expect(texts(spool)).toEqual([...names(0, 2), ...names(perSegment, 30)]);
    expect(second).toBeDefined();
    await spool.close();
  });

  it('refuses to open a segment in a foreign format rather than destroy it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'segment-000000000001.log'), Buffer.from('{"d":"x","q":1,"l":[]}\n'));
    expect(() => openSpool(dir)).toThrow(expect.objectContaining({ code: 'SPOOL_CORRUPT' }));
  });
});

describe('the confirmed cursor', () => {
  it('an unreadable cursor falls back to the oldest record (rewrites are idempotent)', async () => {
    const dir = tempDir();
    const spool = openSpool(dir);
    for (let i = 0; i < 4; i++) await spool.append(body(i));
    await spool.confirm(spool.read(spool.confirmed(), 2)[1]!.next);
    await spool.close();
    writeFileSync(join(dir, 'confirmed.json'), '{"segment":1,"off');
    const repairs: SpoolRepair[] = [];
    const reopened = openSpool(dir, repairs);
    expect(repairs).toEqual([{ kind: 'cursor_reset' }]);
    expect(texts(reopened)).toEqual(names(0, 4));
    await reopened.close();
  });

  it('a confirmed segment that a crash kept from being deleted is deleted on open', async () => {
    const dir = tempDir();
    const spool = openSpool(dir, [], { segmentBytes: 400 });
    for (let i = 0; i < 20; i++) await spool.append(body(i));
    const first = join(dir, segmentFiles(dir)[0]!);
    copyFileSync(first, `${first}.keep`);
    const records = spool.read(spool.confirmed(), 100);
    await spool.confirm(records[12]!.next);
    await spool.close();
    copyFileSync(`${first}.keep`, first); // as if the unlink never reached the disk
    rmSync(`${first}.keep`);
    const reopened = openSpool(dir);
    expect(segmentFiles(dir)).not.toContain(first.split('/').pop());
    expect(texts(reopened)).toEqual(names(13, 20));
    await reopened.close();
  });
});
