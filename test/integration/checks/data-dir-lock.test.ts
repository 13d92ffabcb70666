// The data dir lock in one process (two real `vitalgate start` processes are in
// test/e2e/data-dir-lock.test.ts) and deployment check VG-DATA-007 passing, failing when no one
// holds the lock while a hub runs, and failing when someone other than the running hub holds it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveHub } from '../../../hub/checks/check.js';
import { dataDirLocked } from '../../../hub/checks/data-dir.js';
import { DataDirLock, LOCK_PID_FILE, probeDataDirLock } from '../../../hub/data-dir-lock.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki?.cleanup());

const liveHub = (pid: number): LiveHub => ({
  pid,
  mqtt: { host: '127.0.0.1', port: 1 },
  liveSessions: () => [],
});

describe('the data dir lock', () => {
  it('is exclusive, names its holder, and can be taken again once released', () => {
    expect(probeDataDirLock(pki.dataDir)).toEqual({ locked: false, pid: null });
    const lock = DataDirLock.acquire(pki.dataDir);
    try {
      expect(readFileSync(join(pki.dataDir, LOCK_PID_FILE), 'utf8').trim()).toBe(String(process.pid));
      expect(probeDataDirLock(pki.dataDir)).toEqual({ locked: true, pid: process.pid });
      let refused: unknown;
      try {
        DataDirLock.acquire(pki.dataDir);
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ code: 'DATA_DIR_LOCKED', details: { pid: process.pid } });
      expect((refused as Error).message).toBe(
        `the data dir ${pki.dataDir} is in use by another hub (pid ${process.pid}); one hub per data dir`,
      );
      // The refused attempt changed nothing: the holder still holds it.
      expect(probeDataDirLock(pki.dataDir)).toEqual({ locked: true, pid: process.pid });
    } finally {
      lock.release();
    }
    expect(existsSync(join(pki.dataDir, LOCK_PID_FILE))).toBe(false);
    expect(probeDataDirLock(pki.dataDir).locked).toBe(false);
    const again = DataDirLock.acquire(pki.dataDir);
    again.release();
    again.release(); // twice is harmless
  });
});

describe('VG-DATA-007: the running hub holds the data dir lock', () => {
  const run = (live?: LiveHub) => dataDirLocked.run(checkContext(pki, { live }));

  it('is not applicable while no hub runs', async () => {
    expect(await run()).toMatchObject({ status: 'not_applicable' });
  });

  it('passes when the running hub holds the lock', async () => {
    const lock = DataDirLock.acquire(pki.dataDir);
    try {
      expect(await run(liveHub(process.pid))).toMatchObject({ status: 'pass' });
    } finally {
      lock.release();
    }
  });

  it('fails when a hub runs and nothing holds the lock', async () => {
    expect(await run(liveHub(process.pid))).toMatchObject({
      status: 'fail',
      evidence: `the hub (pid ${process.pid}) runs, but nothing holds the lock on ${pki.dataDir}`,
      remediation: expect.stringContaining('never run two hubs on one data dir'),
    });
  });

  it('fails when the lock is held by another process than the running hub', async () => {
    const lock = DataDirLock.acquire(pki.dataDir);
    try {
      const other = process.pid + 1;
      expect(await run(liveHub(other))).toMatchObject({
        status: 'fail',
        evidence: `the lock on ${pki.dataDir} is held by pid ${process.pid}, not by the running hub (pid ${other})`,
      });
    } finally {
      lock.release();
    }
  });
});
