// The spool's "confirmed up to" cursor: everything before it is stored in InfluxDB. It is
// replaced write-ahead safely: written to a temp file, fsynced, renamed over the old one, and the
// directory fsynced, so a crash leaves either the old or the new cursor, never a torn one.
import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpoolCursor {
  /** Segment number. */
  segment: number;
  /** Byte offset in that segment. */
  offset: number;
  /** LSN of the record at that position (the first one not yet confirmed). */
  lsn: number;
}

export const CURSOR_FILE = 'confirmed.json';

function isCursor(value: unknown): value is SpoolCursor {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return [c.segment, c.offset, c.lsn].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

/** The stored cursor; `unreadable` when the file exists but does not hold one. */
export function readCursor(dir: string): SpoolCursor | 'absent' | 'unreadable' {
  const file = join(dir, CURSOR_FILE);
  if (!existsSync(file)) return 'absent';
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isCursor(value) ? { segment: value.segment, offset: value.offset, lsn: value.lsn } : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

export async function writeCursor(dir: string, cursor: SpoolCursor): Promise<void> {
  const file = join(dir, CURSOR_FILE);
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(cursor));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
