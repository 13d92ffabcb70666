// The durable intake, run inside the broker's authorizePublish: validate → dedupe → evaluate
// alerts on plaintext → seal → append to the spool (fsync) → resolve, and only then does the
// broker write the PUBACK. Invalid messages become dead letters (recorded for good, then acked);
// duplicates and replays are acked and counted, never stored twice. Only a spool failure (full
// disk, quota) rejects, and then the device gets no PUBACK and keeps its message.
import type { HubConfig } from '../core/config.js';
import type { DeviceKind } from '../core/domain.js';
import type { Keyring } from '../core/keyring.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { AlertBus, AlertEvaluator } from './alerts.js';
import type { IngestMetrics } from './metrics.js';
import { keySubjectFor, sealEnvelope } from './sealing.js';
import { statusMessage } from './schemas.js';
import type { Spool } from './spool.js';
import { classifySeq, validateTelemetry, type DeadLetterReason } from './validation.js';

export interface IntakeDevice {
  deviceId: string;
  kind: DeviceKind;
  patientId: string | null;
}

export type IntakeResult =
  | { outcome: 'accepted' }
  | { outcome: 'duplicate'; reason: 'DUPLICATE' | 'REPLAY' }
  | { outcome: 'dead_letter'; reason: DeadLetterReason };

/** The record the spool keeps for one accepted message: ciphertext only. */
export interface SpoolEntry {
  /** device id */
  d: string;
  /** seq */
  q: number;
  /** line-protocol lines (µs), sealed */
  l: string[];
}

export type IntakeLimits = Pick<
  HubConfig,
  'maxPayloadBytes' | 'maxReadingsPerMessage' | 'clockSkewSeconds' | 'maxReadingAgeDays'
>;

export class TelemetryIntakeService {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      store: ControlPlane;
      keyring: Keyring;
      spool: Spool;
      limits: IntakeLimits;
      alerts: AlertEvaluator;
      bus: AlertBus;
      metrics: IngestMetrics;
      /** Last accepted seq per device (confirmed state plus the unconfirmed spool). */
      lastSeq: Map<string, number>;
      now?: () => number;
    },
  ) {}

  /** One device's messages are taken in order, so the seq check and the append cannot interleave. */
  accept(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    const previous = this.chains.get(device.deviceId) ?? Promise.resolve();
    const next = previous.then(
      () => this.acceptInOrder(device, payload),
      () => this.acceptInOrder(device, payload),
    );
    this.chains.set(device.deviceId, next);
    void next
      .finally(() => {
        if (this.chains.get(device.deviceId) === next) this.chains.delete(device.deviceId);
      })
      .catch(() => {});
    return next;
  }

  private async acceptInOrder(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    const { limits, metrics } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const result = validateTelemetry(payload, {
      kind: device.kind,
      now,
      maxPayloadBytes: limits.maxPayloadBytes,
      maxReadings: limits.maxReadingsPerMessage,
      maxClockSkewMs: limits.clockSkewSeconds * 1000,
      maxAgeMs: limits.maxReadingAgeDays * 86_400_000,
    });
    if (!result.ok) {
      this.deadLetter(device, payload, result.reason, result.detail, now);
      return { outcome: 'dead_letter', reason: result.reason };
    }
    const envelope = result.envelope;
    const seqClass = classifySeq(this.deps.lastSeq.get(device.deviceId), envelope.seq);
    if (seqClass !== 'new') {
      metrics.duplicates.inc({ kind: seqClass });
      return { outcome: 'duplicate', reason: seqClass === 'duplicate' ? 'DUPLICATE' : 'REPLAY' };
    }
    const lines = sealEnvelope(this.deps.keyring, device, envelope);
    const entry: SpoolEntry = { d: device.deviceId, q: envelope.seq, l: lines };
    await this.deps.spool.append(Buffer.from(JSON.stringify(entry)));
    this.deps.lastSeq.set(device.deviceId, envelope.seq);
    metrics.accepted.inc();
    metrics.readings.inc(envelope.readings.length);
    for (const reading of envelope.readings) {
      const ts = reading.ts ?? envelope.ts;
      this.deps.alerts.evaluate(device, reading, ts);
      this.deps.bus.emit('reading', { patientId: device.patientId, deviceId: device.deviceId, ts, reading });
    }
    return { outcome: 'accepted' };
  }

  /** Records an invalid message for good: sealed under the patient's key (or quarantine). */
  private deadLetter(
    device: IntakeDevice,
    payload: Buffer,
    reason: DeadLetterReason,
    detail: string,
    now: number,
  ): void {
    const subject = keySubjectFor(device.patientId);
    const sealed = this.deps.keyring.seal(subject, payload, `dead-letter|${device.deviceId}|${now}`);
    this.deps.store.deadLetters.add({
      deviceId: device.deviceId,
      reason,
      detail,
      receivedAt: now,
      keySubject: subject,
      keyVersion: sealed.keyVersion,
      sealedPayload: sealed.ciphertext,
    });
    this.deps.metrics.rejected.inc({ reason });
  }

  /** `devices/{id}/status`: firmware for the deployment checks. Invalid ones are ignored. */
  acceptStatus(device: IntakeDevice, payload: Buffer): void {
    try {
      const status = statusMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (status.success) this.deps.store.devices.setFirmware(device.deviceId, status.data.firmware);
    } catch {
      // not JSON: nothing to record
    }
  }
}
