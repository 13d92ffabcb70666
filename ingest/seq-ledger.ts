// Dedupe state: per replay window, the last accepted seq. A window belongs to what can
// legitimately restart the counter: the device's enrollment (the serial of the certificate its
// one-time token got; renewals keep it). A device that re-enrolls (a factory reset, a new key)
// starts a new window, so its seq may start again at 1 (docs/INGEST.md).
//
// The state must survive a crash together with the spool, so it is never stored on its own. On
// open it is rebuilt from two durable sources:
//   - `seq_windows` (SQLite): the highest seq per window among records InfluxDB has confirmed,
//     written by the writer before it moves the spool's confirmed cursor;
//   - every spool record after that cursor (accepted and acknowledged, not yet confirmed).
// A message that was acknowledged is in one of the two, so its resend is a duplicate; a message
// that was never acknowledged is in neither (its record never completed an fsync, or was cut
// as a torn tail), so its resend is new. See docs/INGEST.md for the crash cases.
import { seqWindowKey, type DeviceSeqRepository } from '../core/store/ingest-state.js';
import type { Spool } from './spool.js';
import { decodeSpooledMessage, type SpooledMessage } from './spooled-message.js';
import { classifySeq } from './validation.js';

export type SeqClass = 'new' | 'duplicate' | 'replay' | 'jump';

/** The window a spooled message belongs to; a record from before windows, the device's current one. */
export function spooledWindow(
  message: SpooledMessage,
  deviceSeqs: Pick<DeviceSeqRepository, 'currentEnrollment'>,
) {
  return seqWindowKey(message.deviceId, message.enrollment ?? deviceSeqs.currentEnrollment(message.deviceId));
}

export class DeviceSeqLedger {
  private constructor(
    private readonly last: Map<string, number>,
    private readonly maxJump: number,
  ) {}

  static recover(deviceSeqs: DeviceSeqRepository, spool: Spool, maxJump = Infinity): DeviceSeqLedger {
    const last = deviceSeqs.all();
    let from = spool.confirmed();
    for (;;) {
      const records = spool.read(from, 10_000);
      if (records.length === 0) break;
      for (const record of records) {
        let message;
        try {
          message = decodeSpooledMessage(record.body);
        } catch {
          continue; // the writer sets such a record aside; it carries no seq to remember
        }
        const window = spooledWindow(message, deviceSeqs);
        if (message.seq > (last.get(window) ?? -1)) last.set(window, message.seq);
      }
      from = records[records.length - 1]!.next;
    }
    return new DeviceSeqLedger(last, maxJump);
  }

  static empty(maxJump = Infinity): DeviceSeqLedger {
    return new DeviceSeqLedger(new Map(), maxJump);
  }

  classify(window: string, seq: number): SeqClass {
    return classifySeq(this.last.get(window), seq, this.maxJump);
  }

  /** Call only once the message's record is durable in the spool. */
  advance(window: string, seq: number): void {
    if (seq > (this.last.get(window) ?? -1)) this.last.set(window, seq);
  }

  lastSeq(window: string): number | undefined {
    return this.last.get(window);
  }

  get windows(): number {
    return this.last.size;
  }
}
