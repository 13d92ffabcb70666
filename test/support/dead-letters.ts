// A dead letter as ingest stores one (the payload bytes stand in for a sealed envelope).
import type { DeadLetterRecord } from '../../core/store/ingest-state.js';

export function deadLetter(deviceId: string, receivedAt: number): Omit<DeadLetterRecord, 'id'> {
  return {
    deviceId,
    reason: 'invalid',
    detail: 'x',
    receivedAt,
    keySubject: 'p',
    keyVersion: 1,
    sealedPayload: Buffer.from('sealed'),
  };
}
