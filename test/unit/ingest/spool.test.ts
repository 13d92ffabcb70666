// The spool on real files in a temp dir: append/read/confirm, segment rotation and deletion,
// group commit, the quota, write failures. The only stand-in is the injectable `sync`, used to
// count fsyncs, to hold one back, or to make one fail (a failing disk cannot be produced here).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { fdatasync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolOptions } from '../../../ingest/spool.js';

const realSync = promisify(fdatasync);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-spool-unit-'));
  dirs.push(dir);
  return dir;
}

function openSpool(dir: string, options: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({ dir, segmentBytes: 1 << 20, quotaBytes: 1 << 24, groupCommitMs: 0, ...options });
}

const body = (i: number, size = 64) => Buffer.from(`record-${i}-`.padEnd(size, '.'));
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('segment-'));
const texts = (spool: Spool, from = spool.confirmed(), max = 10_000) =>
  spool.read(from, max).map((r) => r.body.toString().replace(/\.+$/, ''));

describe('append, read, confirm', () => {
  it('gives each record the next LSN, reads them back in order, and persists the confirmed cursor', async () => {
    const dir = tempDir();
    const spool = openSpool(dir);
    const lsns = await Promise.all([0, 1, 2, 3, 4].map((i) => spool.append(body(i))));
    expect(lsns).toEqual([1, 2, 3, 4, 5]);
    const records = spool.read(spool.confirmed(), 10);
    expect(records.map((r) => r.lsn)).toEqual([1, 2, 3, 4, 5]);
    expect(texts(spool)).toEqual(['record-0-', 'record-1-', 'record-2-', 'record-3-', 'record-4-']);
    expect(spool.depth).toBe(5);
    await spool.confirm(records[2]!.next);
    expect(spool.depth).toBe(2);
    expect(texts(spool)).toEqual(['record-3-', 'record-4-']);
    await spool.close();

    const reopened = openSpool(dir);
    expect(reopened.confirmed()).toEqual(records[2]!.next);
    expect(texts(reopened)).toEqual(['record-3-', 'record-4-']);
    expect(await reopened.append(body(5))).toBe(6);
    await reopened.close();
  });

  it('resolves an append only after its sync, and reads never return a record before that', async () => {
    const dir = tempDir();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const spool = openSpool(dir, { sync: (fd) => held.then(() => realSync(fd)) });
    let resolved = false;
    const appended = spool.append(body(1)).then((lsn) => ((resolved = true), lsn));
    await new Promise((r) => setTimeout(r, 30));
    expect(resolved).toBe(false);
    expect(spool.read(spool.confirmed(), 10)).toEqual([]);
    release();
    expect(await appended).toBe(1);
    expect(texts(spool)).toEqual(['record-1-']);
    await spool.close();
  });

  it('rotates segments at segmentBytes and deletes a segment only once all its records are confirmed', async () => {
    const dir = tempDir();
    const spool = openSpool(dir, { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await spool.append(body(i, 100));
    const segments = segmentFiles(dir).length;
    expect(segments).toBeGreaterThan(3);
    const all = spool.read(spool.confirmed(), 100);
    expect(all.map((r) => r.lsn)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Confirming up to a record in the middle of a segment keeps that segment.
    const middle = all[13]!;
    await spool.confirm(middle.next);
    expect(segmentFiles(dir)).toContain(`segment-${String(middle.next.segment).padStart(12, '0')}.log`);
    expect(segmentFiles(dir).length).toBe(segments - (middle.next.segment - all[0]!.next.segment));
    expect(texts(spool)[0]).toBe('record-14-');
    await spool.confirm(all[39]!.next);
    expect(spool.depth).toBe(0);
    expect(segmentFiles(dir).length).toBe(1);
    // The drained active segment was closed and deleted too; a fresh, empty one takes appends.
    expect(spool.stats.segmentsDeleted).toBe(segments);
    expect(spool.bytes).toBe(16);
    await spool.close();
  });

  it('reports the age of the oldest unconfirmed record', async () => {
    let now = 1_000_000;
    const spool = openSpool(tempDir(), { now: () => now });
    expect(spool.oldestUnconfirmedAgeMs()).toBe(0);
    await spool.append(body(1));
    now += 5_000;
    const [second] = await Promise.all([spool.append(body(2))]);
    now += 2_000;
    expect(spool.oldestUnconfirmedAgeMs()).toBe(7_000);
    const records = spool.read(spool.confirmed(), 1);
    await spool.confirm(records[0]!.next);
    expect(second).toBe(2);
    expect(spool.oldestUnconfirmedAgeMs()).toBe(2_000);
    await spool.close();
  });
});

describe('group commit', () => {
  it('many concurrent appends share far fewer fsyncs', async () => {
    let syncs = 0;
    const spool = openSpool(tempDir(), {
      sync: (fd) => {
        syncs += 1;
        return realSync(fd);
      },
    });
    const lsns = await Promise.all(Array.from({ length: 1000 }, (_, i) => spool.append(body(i))));
    expect(new Set(lsns).size).toBe(1000);
    expect(syncs).toBeLessThanOrEqual(5);
    expect(spool.stats.fsyncs).toBe(syncs);
    expect(spool.stats.appends).toBe(1000);
    await spool.close();
  });

  it('appends arriving within groupCommitMs, or while a sync is in flight, join one sync', async () => {
    let syncs = 0;
    const spool = openSpool(tempDir(), {
      groupCommitMs: 20,
      sync: async (fd) => {
        syncs += 1;
        await new Promise((r) => setTimeout(r, 30));
        return realSync(fd);
      },
    });
    const first = [spool.append(body(1))];
    await new Promise((r) => setTimeout(r, 5));
    first.push(spool.append(body(2))); // within the 20 ms window
    await new Promise((r) => setTimeout(r, 25)); // the sync is now in flight
    const second = [spool.append(body(3)), spool.append(body(4))];
    await Promise.all([...first, ...second]);
    expect(syncs).toBe(2);
    await spool.close();
  });
});

describe('group commit without a window (the default)', () => {
  it('starts a sync at once, acks only after it, and takes appends made meanwhile in the next one', async () => {
    const gates: (() => void)[] = [];
    const synced: number[] = [];
    let depthAtSync = 0;
    const spool = openSpool(tempDir(), {
      groupCommitMs: 0,
      sync: async (fd) => {
        await new Promise<void>((release) => gates.push(release));
        await realSync(fd);
        synced.push(++depthAtSync);
      },
    });
    const acked: number[] = [];
    const first = spool.append(body(1)).then((lsn) => acked.push(lsn));
    await new Promise((r) => setImmediate(r));
    expect(gates).toHaveLength(1); // no waiting window: the first sync is under way
    const later = [2, 3].map((i) => spool.append(body(i)).then((lsn) => acked.push(lsn)));
    await new Promise((r) => setTimeout(r, 20));
    expect(acked).toEqual([]); // nothing is acked before its sync completes
    expect(gates).toHaveLength(1); // one sync at a time; 2 and 3 wait for the next one
    gates[0]!();
    await first;
    expect(acked).toEqual([1]);
    expect(spool.read(spool.confirmed(), 10).map((r) => r.lsn)).toEqual([1]);
    await new Promise((r) => setTimeout(r, 20));
    expect(gates).toHaveLength(2); // the next group started as soon as the first sync ended
    expect(acked).toEqual([1]);
    gates[1]!();
    await Promise.all(later);
    expect(acked).toEqual([1, 2, 3]);
    expect(synced).toEqual([1, 2]);
    expect(spool.stats.fsyncs).toBe(2);
    await spool.close();
  });
});

describe('quota', () => {
  it('refuses with SPOOL_FULL, appends nothing, raises the alarm once, and recovers after confirmation', async () => {
    const dir = tempDir();
    const quota: boolean[] = [];
    const spool = openSpool(dir, {
      quotaBytes: 2048,
      segmentBytes: 1024,
      onQuota: (full) => quota.push(full),
    });
    let appended = 0;
    let refused: unknown;
    while (!refused) {
      refused = await spool.append(body(appended, 100)).then(
        () => void (appended += 1),
        (e: unknown) => e,
      );
    }
    expect(refused).toMatchObject({ code: 'SPOOL_FULL' });
    const size = segmentFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(size).toBeLessThanOrEqual(2048);
    expect(spool.bytes).toBe(size);
    await expect(spool.append(body(99, 100))).rejects.toMatchObject({ code: 'SPOOL_FULL' });
    expect(segmentFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0)).toBe(size);
    expect(quota).toEqual([true]);
    expect(spool.depth).toBe(appended);

    const records = spool.read(spool.confirmed(), 1000);
    await spool.confirm(records[records.length - 1]!.next);
    expect(quota).toEqual([true, false]);
    expect(await spool.append(body(100, 100))).toBe(appended + 1);
    await spool.close();
  });
});

describe('write failures', () => {
  it('a failed sync rejects that group, leaves no trace in the file, and the next append carries on', async () => {
    const dir = tempDir();
    let fail = false;
    const spool = openSpool(dir, {
      sync: async (fd) => {
        if (fail) {
          fail = false;
          throw new Error('EIO');
        }
        return realSync(fd);
      },
    });
    await spool.append(body(1));
    fail = true;
    await expect(spool.append(body(2))).rejects.toMatchObject({ code: 'SPOOL_WRITE_FAILED' });
    expect(await spool.append(body(3))).toBe(2);
    expect(texts(spool)).toEqual(['record-1-', 'record-3-']);
    await spool.close();
    expect(texts(openSpool(dir))).toEqual(['record-1-', 'record-3-']);
  });

  it('when the next segment cannot be created, that group is refused and the spool carries on', async () => {
    const dir = tempDir();
    const spool = openSpool(dir, { segmentBytes: 100 }); // every append starts a segment
    for (let i = 0; i < 3; i++) await spool.append(body(i, 100));
    const next = join(dir, `segment-${String(segmentFiles(dir).length + 1).padStart(12, '0')}.log`);
    mkdirSync(next); // something in the way of the next segment file
    await expect(spool.append(body(3, 100))).rejects.toMatchObject({ code: 'SPOOL_WRITE_FAILED' });
    rmSync(next, { recursive: true });
    expect(await spool.append(body(4, 100))).toBe(4);
    await spool.close();
    expect(texts(openSpool(dir))).toEqual(['record-0-', 'record-1-', 'record-2-', 'record-4-']);
  });

  it('close writes what is queued; later appends are refused', async () => {
    const dir = tempDir();
    const spool = openSpool(dir, { groupCommitMs: 50 });
    const pending = spool.append(body(1));
    await spool.close();
    expect(await pending).toBe(1);
    await expect(spool.append(body(2))).rejects.toMatchObject({ code: 'SPOOL_CLOSED' });
    expect(texts(openSpool(dir))).toEqual(['record-1-']);
  });
});
