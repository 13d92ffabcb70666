// The body of one spool record: one accepted message, already sealed.
//
//   VG2 <device id> <seq> <point count> <enrollment>\n<line>\n<line>...
//
// The enrollment (the serial that began the device's enrollment; empty when unknown) names the
// replay window the seq belongs to (seq-ledger.ts). Records written before it existed start with
// `VG1 <device id> <seq> <point count>` and decode with no enrollment.
// The point count is the readings' points; the message's one-minute rollup lines (rollup-
// sealing.ts) follow them and are written with them, but not counted as points.
// Line protocol has no newlines inside a line and device ids have no spaces, so the writer
// passes the lines on to InfluxDB as they are, without parsing or re-serialising them.
import { VitalGateError } from '../core/errors.js';

export interface SpooledMessage {
  deviceId: string;
  seq: number;
  /** The replay window's enrollment; undefined for a VG1 record (written before windows). */
  enrollment: string | undefined;
  /** Number of reading points (the rollup lines after them are not counted). */
  points: number;
  /** The sealed line-protocol lines (points, then rollups), joined with '\n'. */
  lines: string;
}

const MAGIC = 'VG2';
const LEGACY_MAGIC = 'VG1';

export function encodeSpooledMessage(
  deviceId: string,
  seq: number,
  lines: readonly string[],
  rollups: readonly string[] = [],
  enrollment = '',
): Buffer {
  const all = rollups.length > 0 ? [...lines, ...rollups] : lines;
  return Buffer.from(`${MAGIC} ${deviceId} ${seq} ${lines.length} ${enrollment}\n${all.join('\n')}`, 'utf8');
}

export function decodeSpooledMessage(body: Buffer): SpooledMessage {
  const text = body.toString('utf8');
  const eol = text.indexOf('\n');
  const [magic, deviceId, seq, points, enrollment] = (eol < 0 ? text : text.slice(0, eol)).split(' ');
  const message = {
    deviceId: deviceId ?? '',
    seq: Number(seq),
    enrollment: magic === MAGIC ? (enrollment ?? '') : undefined,
    points: Number(points),
    lines: text.slice(eol + 1),
  };
  if (
    (magic !== MAGIC && magic !== LEGACY_MAGIC) ||
    (magic === MAGIC && enrollment === undefined) ||
    eol < 0 ||
    !message.deviceId ||
    !Number.isSafeInteger(message.seq) ||
    !Number.isSafeInteger(message.points) ||
    message.points < 1
  ) {
    throw new VitalGateError('SPOOL_RECORD_UNREADABLE', 'a spool record is not a spooled message');
  }
  return message;
}
