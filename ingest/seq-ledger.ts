// Dedupe state: the last accepted seq of each device. It must survive a crash together with the
// spool, so it is never stored on its own. On open it is rebuilt from two durable sources:
//   - `device_seq` (SQLite): the highest seq per device among records InfluxDB has confirmed,
//     written by the writer before it moves the spool's confirmed cursor;
//   - every spool record after that cursor (accepted and acknowledged, not yet confirmed).
// A message that was acknowledged is in one of the two, so its resend is a duplicate; a message
// that was never acknowledged is in neither (its record never completed an fsync, or was cut
// as a torn tail), so its resend is new. See docs/INGEST.md for the crash cases.
import type { DeviceSeqRepository } from '../core/store/ingest-state.js';
import type { Spool } from './spool.js';
import { decodeSpooledMessage } from './spooled-message.js';
import { classifySeq } from './validation.js';

export type SeqClass = 'new' | 'duplicate' | 'replay';

export class DeviceSeqLedger {
  private constructor(private readonly last: Map<string, number>) {}

  static recover(deviceSeqs: DeviceSeqRepository, spool: Spool): DeviceSeqLedger {
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
        if (message.seq > (last.get(message.deviceId) ?? -1)) last.set(message.deviceId, message.seq);
      }
      from = records[records.length - 1]!.next;
    }
    return new DeviceSeqLedger(last);
  }

  static empty(): DeviceSeqLedger {
    return new DeviceSeqLedger(new Map());
  }

  classify(deviceId: string, seq: number): SeqClass {
    return classifySeq(this.last.get(deviceId), seq);
  }

  /** Call only once the message's record is durable in the spool. */
  advance(deviceId: string, seq: number): void {
    if (seq > (this.last.get(deviceId) ?? -1)) this.last.set(deviceId, seq);
  }

  lastSeq(deviceId: string): number | undefined {
    return this.last.get(deviceId);
  }

  get devices(): number {
    return this.last.size;
  }
}
