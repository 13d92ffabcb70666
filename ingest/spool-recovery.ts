// Opening a spool after a clean stop or a crash: every segment from the confirmed cursor on is
// scanned record by record. A torn tail (short record, bad CRC, wrong LSN at the end) is cut off
// and fsynced; a corrupt record followed by valid ones is skipped; fully confirmed segments left
// behind by a crash are deleted. Every repair is reported, with how many records it cost.
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { VitalGateError } from '../core/errors.js';
import { readCursor, type SpoolCursor } from './spool-cursor.js';
import { parseSegmentFileName, scanSegment, segmentFileName, SEGMENT_HEADER_BYTES } from './spool-segment.js';

export interface SegmentInfo {
  segment: number;
  firstLsn: number;
  /** LSN after the last record. */
  nextLsn: number;
  /** Bytes in the file (the durable end, for the active segment). */
  size: number;
}

export type SpoolRepair =
  | { kind: 'torn_tail'; segment: number; bytes: number }
  | { kind: 'truncated_segment'; segment: number; bytes: number }
  | { kind: 'corrupt_record'; segment: number; lsn: number }
  | { kind: 'lost_records'; segment: number; records: number }
  | { kind: 'unwritten_segment'; segment: number }
  | { kind: 'cursor_reset' };

export interface RecoveredSpool {
  segments: SegmentInfo[];
  cursor: SpoolCursor;
  nextLsn: number;
  /** Corrupt records to skip when reading, by `segment:offset`, with their size. */
  corrupt: Map<string, number>;
  repairs: SpoolRepair[];
}

export function corruptKey(segment: number, offset: number): string {
  return `${segment}:${offset}`;
}

function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map(parseSegmentFileName)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
}

export function recoverSpool(dir: string): RecoveredSpool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const repairs: SpoolRepair[] = [];
  const stored = readCursor(dir);
  if (stored === 'unreadable') repairs.push({ kind: 'cursor_reset' });
  let cursor = typeof stored === 'object' ? stored : undefined;

  const segments: SegmentInfo[] = [];
  const corrupt = new Map<string, number>();
  const numbers = listSegments(dir);
  for (const [i, segment] of numbers.entries()) {
    const path = join(dir, segmentFileName(segment));
    // Segments before the cursor's were confirmed; a crash kept them from being deleted.
    if (cursor && segment < cursor.segment) {
      unlinkSync(path);
      continue;
    }
    const isLast = i === numbers.length - 1;
    const scan = scanSegment(path, statSync(path).size);
    if (scan.header.kind === 'foreign') {
      throw new VitalGateError(
        'SPOOL_CORRUPT',
        `spool segment ${path} is not in a format this hub writes: move the spool directory aside`,
      );
    }
    if (scan.header.kind === 'unwritten') {
      // Created but its header never reached the disk: it holds nothing.
      unlinkSync(path);
      repairs.push({ kind: 'unwritten_segment', segment });
      continue;
    }
    const previous = segments[segments.length - 1];
    if (previous && scan.header.firstLsn !== previous.nextLsn) {
      if (scan.header.firstLsn < previous.nextLsn)
        throw new VitalGateError('SPOOL_CORRUPT', `spool segment ${path} overlaps the one before it`);
      repairs.push({
        kind: 'lost_records',
        segment: previous.segment,
        records: scan.header.firstLsn - previous.nextLsn,
      });
    }
    for (const c of scan.corrupt) {
      corrupt.set(corruptKey(segment, c.offset), c.size);
      repairs.push({ kind: 'corrupt_record', segment, lsn: c.lsn });
    }
    if (scan.validEnd < scan.fileSize) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, scan.validEnd);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      repairs.push({
        kind: isLast ? 'torn_tail' : 'truncated_segment',
        segment,
        bytes: scan.fileSize - scan.validEnd,
      });
    }
    segments.push({ segment, firstLsn: scan.header.firstLsn, nextLsn: scan.nextLsn, size: scan.validEnd });
  }

  const last = segments[segments.length - 1];
  const first = segments[0];
  cursor ??= first
    ? { segment: first.segment, offset: SEGMENT_HEADER_BYTES, lsn: first.firstLsn }
    : { segment: 0, offset: SEGMENT_HEADER_BYTES, lsn: 1 };
  const at = cursor;
  // A cursor in a deleted segment, or beyond what survived a truncation, moves to the next record.
  const home = segments.find((s) => s.segment === at.segment);
  if (home && cursor.offset > home.size)
    cursor = { segment: home.segment, offset: home.size, lsn: home.nextLsn };
  const nextLsn = Math.max(last?.nextLsn ?? cursor.lsn, cursor.lsn);
  return { segments, cursor, nextLsn, corrupt, repairs };
}
