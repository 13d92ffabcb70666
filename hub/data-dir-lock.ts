// One hub per data dir. `vitalgate start` (and `demo`) holds an exclusive OS-level lock on
// `<data dir>/hub.lock` for as long as it runs; a second hub on the same dir fails at once, before
// it touches anything (the first hub's managed InfluxDB, spool and hub.json stay as they are).
// CLI commands do not take the lock: they keep reading and writing beside a running hub.
//
// How the lock is held: `hub.lock` is an empty SQLite database on which the hub keeps an
// EXCLUSIVE transaction open (better-sqlite3, already the control plane's driver). SQLite takes
// it with fcntl() byte-range locks, which the kernel drops when the process ends in any way,
// kill -9 included, so a crash never leaves a stale lock; they are not inherited by children (the
// managed influxd), and SQLite also refuses a second connection in the same process. A pid file
// alone (write, then check whether the pid lives) races two starts against each other and can
// mistake a reused pid for a live hub; Node has no flock() of its own, and a native add-on only
// for this would be one more thing to build. The holder's pid goes into `hub.pid` beside it, for
// the message a second start prints (the locked database cannot be read).
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VitalGateError } from '../core/errors.js';

export const LOCK_FILE = 'hub.lock';
export const LOCK_PID_FILE = 'hub.pid';

/**
 * How long a start waits for the lock. A probe (`vitalgate check`) holds a shared lock for a
 * moment; a running hub holds it for good, and a second start gives up after this.
 */
const LOCK_WAIT_MS = 250;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function holderPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, LOCK_PID_FILE), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export class DataDirLock {
  private constructor(
    private readonly dataDir: string,
    private db: Database.Database | undefined,
  ) {}

  /** Takes the data dir's lock, or throws DATA_DIR_LOCKED naming the holder's pid. */
  static acquire(dataDir: string): DataDirLock {
    const db = new Database(join(dataDir, LOCK_FILE), { timeout: LOCK_WAIT_MS });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if (!isBusy(err)) throw err;
      const pid = holderPid(dataDir);
      throw new VitalGateError(
        'DATA_DIR_LOCKED',
        `the data dir ${dataDir} is in use by another hub (${pid ? `pid ${pid}` : 'pid unknown'}); one hub per data dir`,
        { pid },
      );
    }
    const pidFile = join(dataDir, LOCK_PID_FILE);
    writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`, { mode: 0o600 });
    renameSync(`${pidFile}.tmp`, pidFile);
    return new DataDirLock(dataDir, db);
  }

  /** Lets the lock go (the OS does the same when the process dies). Safe to call twice. */
  release(): void {
    if (!this.db) return;
    if (holderPid(this.dataDir) === process.pid) rmSync(join(this.dataDir, LOCK_PID_FILE), { force: true });
    this.db.close();
    this.db = undefined;
  }
}

/**
 * The lock for a maintenance command that needs the hub stopped (key or CA rotation): no hub runs
 * while it works, and none can start. A running hub is refused with HUB_RUNNING, naming `what`.
 */
export function lockForMaintenance(dataDir: string, what: string): DataDirLock {
  try {
    return DataDirLock.acquire(dataDir);
  } catch (err) {
    if (!(err instanceof VitalGateError) || err.code !== 'DATA_DIR_LOCKED') throw err;
    const pid = err.details?.pid;
    throw new VitalGateError(
      'HUB_RUNNING',
      `the hub is running on this data dir (${typeof pid === 'number' ? `pid ${pid}` : 'pid unknown'}): stop it, then ${what}`,
    );
  }
}

/**
 * Whether some process holds the data dir's lock, and the pid it recorded. Reads only: takes a
 * shared lock for a moment, which fails while a hub holds the exclusive one.
 */
export function probeDataDirLock(dataDir: string): { locked: boolean; pid: number | null } {
  const file = join(dataDir, LOCK_FILE);
  if (!existsSync(file)) return { locked: false, pid: null };
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return { locked: false, pid: holderPid(dataDir) };
  } catch (err) {
    if (!isBusy(err)) throw err;
    return { locked: true, pid: holderPid(dataDir) };
  } finally {
    db.close();
  }
}
