// The spool in a whole-hub backup: the records acknowledged to devices but not yet confirmed in
// InfluxDB. Copied while the hub appends and the writer confirms: the confirmed cursor is read
// first, then every segment from the cursor's on is copied, and the copy is opened the way the
// hub opens its spool (a record torn by an append in flight is cut off; it was not acknowledged
// yet). A segment the writer deleted meanwhile (all of it confirmed) makes the copy start over.
// Anything acknowledged before the copy began is in it; replaying it later is idempotent, since
// InfluxDB overwrites a point with the same series and time.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VitalGateError } from '../../core/errors.js';
import { REJECTED_FILE, SPOOL_DIR } from '../../ingest/pipeline.js';
import { CURSOR_FILE, readCursor } from '../../ingest/spool-cursor.js';
import { recoverSpool } from '../../ingest/spool-recovery.js';
import { parseSegmentFileName } from '../../ingest/spool-segment.js';

const ATTEMPTS = 5;

export interface SpoolSnapshot {
  /** Files in `dir`, each a backup part `spool/<file>`. */
  files: string[];
  /** Records not yet confirmed, to be replayed into InfluxDB at the next start. */
  pendingRecords: number;
}

/** Copies the unconfirmed part of `<dataDir>/spool` into the empty directory `dir`. */
export function snapshotSpool(dataDir: string, dir: string): SpoolSnapshot {
  const spoolDir = join(dataDir, SPOOL_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(spoolDir)) return { files: [], pendingRecords: 0 };
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const copied = copyOnce(spoolDir, dir);
    if (copied) return copied;
  }
  throw new VitalGateError(
    'BACKUP_SPOOL_BUSY',
    `the spool changed under ${ATTEMPTS} attempts to copy it; try again when the hub is less busy`,
  );
}

function copyOnce(spoolDir: string, dir: string): SpoolSnapshot | undefined {
  const cursor = readCursor(spoolDir);
  if (cursor === 'unreadable')
    throw new VitalGateError('BACKUP_SPOOL_UNREADABLE', `the spool cursor in ${spoolDir} is unreadable`);
  if (cursor !== 'absent') writeFileSync(join(dir, CURSOR_FILE), JSON.stringify(cursor), { mode: 0o600 });
  const segments = readdirSync(spoolDir)
    .map((name) => ({ name, segment: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; segment: number } => s.segment !== undefined)
    .filter((s) => cursor === 'absent' || s.segment >= cursor.segment);
  for (const { name } of segments) {
    try {
      copyFileSync(join(spoolDir, name), join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  const recovered = recoverSpool(dir);
  const last = segments[segments.length - 1]?.segment;
  const trouble = recovered.repairs.find((r) => !(r.kind === 'torn_tail' && r.segment === last));
  if (trouble) return undefined;
  if (existsSync(join(spoolDir, REJECTED_FILE)))
    copyFileSync(join(spoolDir, REJECTED_FILE), join(dir, REJECTED_FILE));
  return {
    files: readdirSync(dir).sort(),
    pendingRecords: Math.max(0, recovered.nextLsn - recovered.cursor.lsn),
  };
}
