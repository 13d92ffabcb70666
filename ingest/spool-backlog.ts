// The oldest record of the spool not yet confirmed as stored in InfluxDB, read from disk without
// opening the spool (no repair, no lock), so a check in another process can see whether a running
// hub's spool drains. It reads the cursor file and one record header.
import { closeSync, existsSync, fstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCursor } from './spool-cursor.js';
import { readFully } from './spool-reader.js';
import {
  decodeSegmentHeader,
  parseSegmentFileName,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './spool-segment.js';

export interface SpoolBacklogHead {
  lsn: number;
  /** When the record was appended, ms since the epoch. */
  appendedAt: number;
}

/** The first unconfirmed record, or undefined when everything spooled is confirmed. */
export function oldestUnconfirmedRecord(dir: string): SpoolBacklogHead | undefined {
  if (!existsSync(dir)) return undefined;
  const stored = readCursor(dir);
  const cursor = typeof stored === 'object' ? stored : undefined;
  const segments = readdirSync(dir)
    .map(parseSegmentFileName)
    .filter((n): n is number => n !== undefined && (!cursor || n >= cursor.segment))
    .sort((a, b) => a - b);
  for (const segment of segments) {
    let fd: number;
    try {
      fd = openSync(join(dir, segmentFileName(segment)), 'r');
    } catch (err) {
      // The running hub deleted the segment once all of it was confirmed.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < SEGMENT_HEADER_BYTES) continue;
      const header = decodeSegmentHeader(readFully(fd, 0, SEGMENT_HEADER_BYTES));
      if (header.kind !== 'valid') continue;
      const atCursor = cursor?.segment === segment;
      const offset = atCursor ? Math.max(cursor.offset, SEGMENT_HEADER_BYTES) : SEGMENT_HEADER_BYTES;
      const lsn = atCursor ? cursor.lsn : header.firstLsn;
      if (size - offset < RECORD_HEADER_BYTES) continue;
      const record = readFully(fd, offset, RECORD_HEADER_BYTES);
      // A record header with the expected LSN and a body length; anything else is a torn tail.
      if (record.readUInt32LE(0) > 0 && record.readUIntLE(8, 6) === lsn)
        return { lsn, appendedAt: record.readUIntLE(14, 6) };
    } finally {
      closeSync(fd);
    }
  }
  return undefined;
}
