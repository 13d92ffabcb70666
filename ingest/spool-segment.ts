// The on-disk format of one spool segment, `segment-NNNNNNNNNNNN.log`:
//
//   segment header (16 bytes): magic "VGSPOOL" | format version u8 (1) | first LSN u64 LE
//   records, back to back:
//     0  length of the body, u32 LE (1 .. MAX_RECORD_BODY)
//     4  CRC-32 of bytes 0..4 and 8..end (length, LSN, time, body), u32 LE
//     8  LSN, u48 LE: the record's number in the whole log; +1 per record, across segments
//    14  appended at, ms since the epoch, u48 LE
//    20  body
//
// The CRC covers the length, so a zero-filled tail (a file extended by the crash but not
// written) is not a run of valid empty records; an empty body is refused for the same reason.
// The LSN must follow on from the previous record, so a stale record left in a reused block
// cannot pass as the next one. These checks find where a torn write ends.
import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 20;
export const MAX_RECORD_BODY = 16 * 1024 * 1024;
const MAGIC = Buffer.from('VGSPOOL', 'latin1');
const FORMAT_VERSION = 1;
const SEGMENT_FILE = /^segment-(\d{12})\.log$/;

export function segmentFileName(segment: number): string {
  return `segment-${String(segment).padStart(12, '0')}.log`;
}

export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_FILE.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function encodeSegmentHeader(firstLsn: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 7);
  header.writeUIntLE(firstLsn, 8, 6);
  return header;
}

export type SegmentHeader =
  | { kind: 'valid'; firstLsn: number }
  /** Shorter than a header, or all zero: a segment whose creation was cut short. */
  | { kind: 'unwritten' }
  | { kind: 'foreign' };

export function decodeSegmentHeader(header: Buffer): SegmentHeader {
  if (header.length < SEGMENT_HEADER_BYTES || header.every((b) => b === 0)) return { kind: 'unwritten' };
  if (!header.subarray(0, 7).equals(MAGIC) || header.readUInt8(7) !== FORMAT_VERSION)
    return { kind: 'foreign' };
  return { kind: 'valid', firstLsn: header.readUIntLE(8, 6) };
}

/** Writes one record (header + body) into `out` at `at`; returns the offset after it. */
export function encodeRecord(out: Buffer, at: number, lsn: number, appendedAt: number, body: Buffer): number {
  out.writeUInt32LE(body.length, at);
  out.writeUIntLE(lsn, at + 8, 6);
  out.writeUIntLE(appendedAt, at + 14, 6);
  body.copy(out, at + RECORD_HEADER_BYTES);
  const end = at + RECORD_HEADER_BYTES + body.length;
  out.writeUInt32LE(recordCrc(out, at, end), at + 4);
  return end;
}

function recordCrc(buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start + 8, end), crc32(buf.subarray(start, start + 4)));
}

export interface DecodedRecord {
  lsn: number;
  appendedAt: number;
  /** A view into the buffer that was decoded. */
  body: Buffer;
  /** Bytes taken by the record, header included. */
  size: number;
}

export type DecodeResult =
  | { kind: 'record'; record: DecodedRecord }
  /** The buffer ends before the record does: read more (or, at the end of the file, a torn tail). */
  | { kind: 'incomplete'; needed: number }
  | { kind: 'invalid'; why: 'length' | 'crc' | 'lsn'; size?: number };

/** Decodes the record at `at`, which must carry `expectedLsn`. */
export function decodeRecord(buf: Buffer, at: number, expectedLsn: number): DecodeResult {
  if (buf.length - at < RECORD_HEADER_BYTES) return { kind: 'incomplete', needed: RECORD_HEADER_BYTES };
  const length = buf.readUInt32LE(at);
  if (length === 0 || length > MAX_RECORD_BODY) return { kind: 'invalid', why: 'length' };
  const size = RECORD_HEADER_BYTES + length;
  if (buf.length - at < size) return { kind: 'incomplete', needed: size };
  if (recordCrc(buf, at, at + size) !== buf.readUInt32LE(at + 4))
    return { kind: 'invalid', why: 'crc', size };
  const lsn = buf.readUIntLE(at + 8, 6);
  if (lsn !== expectedLsn) return { kind: 'invalid', why: 'lsn', size };
  return {
    kind: 'record',
    record: {
      lsn,
      appendedAt: buf.readUIntLE(at + 14, 6),
      body: buf.subarray(at + RECORD_HEADER_BYTES, at + size),
      size,
    },
  };
}

export interface SegmentScan {
  header: SegmentHeader;
  /** End of the last record that decoded and followed on from the one before. */
  validEnd: number;
  /** LSN the next record would carry. */
  nextLsn: number;
  fileSize: number;
  /** Records that fail their CRC but are followed by valid ones (bit rot, not a torn write). */
  corrupt: { offset: number; lsn: number; size: number }[];
  /** Why the scan stopped before the end of the file, if it did. */
  stoppedBy?: 'length' | 'crc' | 'lsn' | 'short';
}

const SCAN_CHUNK = 4 * 1024 * 1024;

/**
 * Reads a segment from its header to its end, checking every record. A record that fails its
 * CRC is skipped (and reported) only when the next record decodes with the next LSN; otherwise
 * the scan stops there and `validEnd` is where a torn tail begins.
 */
export function scanSegment(path: string, fileSize: number): SegmentScan {
  const fd = openSync(path, 'r');
  try {
    const headerBuf = Buffer.alloc(Math.min(SEGMENT_HEADER_BYTES, fileSize));
    readSync(fd, headerBuf, 0, headerBuf.length, 0);
    const header = decodeSegmentHeader(headerBuf);
    if (header.kind !== 'valid') return { header, validEnd: 0, nextLsn: 0, fileSize, corrupt: [] };
    const scan: SegmentScan = {
      header,
      validEnd: SEGMENT_HEADER_BYTES,
      nextLsn: header.firstLsn,
      fileSize,
      corrupt: [],
    };
    let chunk = Buffer.alloc(0);
    let chunkStart = SEGMENT_HEADER_BYTES;
    let at = 0;
    for (;;) {
      const result = decodeRecord(chunk, at, scan.nextLsn);
      if (result.kind === 'incomplete') {
        const fileOffset = chunkStart + at;
        const left = fileSize - fileOffset;
        if (left < result.needed) {
          if (left > 0) scan.stoppedBy = 'short';
          break;
        }
        chunk = Buffer.alloc(Math.min(left, Math.max(SCAN_CHUNK, result.needed)));
        readSync(fd, chunk, 0, chunk.length, fileOffset);
        chunkStart = fileOffset;
        at = 0;
        continue;
      }
      if (result.kind === 'record') {
        at += result.record.size;
        scan.validEnd = chunkStart + at;
        scan.nextLsn += 1;
        continue;
      }
      if (result.why === 'crc' && result.size !== undefined) {
        const after = chunkStart + at + result.size;
        if (followedByValidRecord(fd, after, fileSize, scan.nextLsn + 1)) {
          scan.corrupt.push({ offset: chunkStart + at, lsn: scan.nextLsn, size: result.size });
          at += result.size;
          scan.validEnd = chunkStart + at;
          scan.nextLsn += 1;
          continue;
        }
      }
      scan.stoppedBy = result.why;
      break;
    }
    return scan;
  } finally {
    closeSync(fd);
  }
}

function followedByValidRecord(fd: number, offset: number, fileSize: number, lsn: number): boolean {
  if (fileSize - offset < RECORD_HEADER_BYTES) return false;
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  readSync(fd, head, 0, head.length, offset);
  const length = head.readUInt32LE(0);
  if (length === 0 || length > MAX_RECORD_BODY || fileSize - offset < RECORD_HEADER_BYTES + length)
    return false;
  const whole = Buffer.alloc(RECORD_HEADER_BYTES + length);
  readSync(fd, whole, 0, whole.length, offset);
  return decodeRecord(whole, 0, lsn).kind === 'record';
}
