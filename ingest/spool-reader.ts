// Reading the spool: records in LSN order from a cursor, across segments, each checked again
// (length, CRC, LSN) as it is read. Records found corrupt when the spool was opened are skipped;
// any other failed check is SPOOL_CORRUPT (the disk changed under a running hub).
import { readSync } from 'node:fs';
import { VitalGateError } from '../core/errors.js';
import type { SpoolCursor } from './spool-cursor.js';
import type { SegmentInfo } from './spool-recovery.js';
import { decodeRecord, SEGMENT_HEADER_BYTES } from './spool-segment.js';

export interface SpoolRecord {
  lsn: number;
  /** When the record was appended (ms). */
  appendedAt: number;
  body: Buffer;
  /** The cursor just after this record: confirm() it once the record is stored. */
  next: SpoolCursor;
}

export interface RecordSource {
  /** Segments in order, with their durable sizes. */
  segments(): readonly SegmentInfo[];
  /** Size of a record found corrupt on open at this position, if one was. */
  corrupt(segment: number, offset: number): number | undefined;
  readAt(segment: number, offset: number, length: number): Buffer;
}

const READ_CHUNK = 1024 * 1024;
const MIN_READ = 64 * 1024;
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

export function readRecords(
  source: RecordSource,
  from: SpoolCursor,
  maxRecords: number,
  maxBytes: number,
): SpoolRecord[] {
  const segments = source.segments();
  const records: SpoolRecord[] = [];
  let pos = { ...from };
  let bytes = 0;
  while (records.length < maxRecords && bytes < maxBytes) {
    const index = segments.findIndex((s) => s.segment >= pos.segment);
    const seg = segments[index];
    if (!seg) break;
    if (seg.segment !== pos.segment || pos.offset < SEGMENT_HEADER_BYTES)
      pos = { segment: seg.segment, offset: SEGMENT_HEADER_BYTES, lsn: seg.firstLsn };
    if (pos.offset >= seg.size) {
      const following = segments[index + 1];
      if (!following) break;
      pos = { segment: following.segment, offset: SEGMENT_HEADER_BYTES, lsn: following.firstLsn };
      continue;
    }
    const left = seg.size - pos.offset;
    let chunk = source.readAt(
      seg.segment,
      pos.offset,
      Math.min(left, clamp(maxBytes - bytes, MIN_READ, READ_CHUNK)),
    );
    let at = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const result = decodeRecord(chunk, at, pos.lsn);
      if (result.kind === 'incomplete') {
        if (at > 0) break; // the outer loop reads on from this record
        if (result.needed > left) throw corruptError(pos, 'a record runs past the durable end');
        chunk = source.readAt(seg.segment, pos.offset, result.needed);
        continue;
      }
      if (result.kind === 'invalid') {
        const skip = source.corrupt(pos.segment, pos.offset);
        if (skip === undefined) throw corruptError(pos, `record failed its ${result.why} check`);
        at += skip;
        pos = { segment: pos.segment, offset: pos.offset + skip, lsn: pos.lsn + 1 };
        continue;
      }
      const { record } = result;
      at += record.size;
      pos = { segment: pos.segment, offset: pos.offset + record.size, lsn: record.lsn + 1 };
      bytes += record.body.length;
      records.push({ lsn: record.lsn, appendedAt: record.appendedAt, body: record.body, next: { ...pos } });
      if (at >= chunk.length) break;
    }
  }
  return records;
}

export function readFully(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

function corruptError(pos: SpoolCursor, why: string): VitalGateError {
  return new VitalGateError('SPOOL_CORRUPT', `spool segment ${pos.segment} at ${pos.offset}: ${why}`, {
    segment: pos.segment,
    offset: pos.offset,
  });
}
