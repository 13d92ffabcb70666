// The durable intake, which the broker awaits inside aedes' authorizePublish (the only hook that
// runs before the QoS-1 PUBACK): validate → dedupe → seal → append to the spool (fdatasync) →
// resolve, and only then does the broker write the PUBACK. The outcomes:
//   accepted     the message's sealed readings are in the spool;
//   duplicate    the seq was seen in its replay window (a resend after a lost PUBACK, or a
//                replay): not stored as readings, but recorded as a dead letter (DUPLICATE or
//                REPLAY, payload sealed), then acked; a device that keeps sending behind its
//                window raises a `telemetry_behind_window` security event;
//   dead_letter  invalid for good (an implausible seq jump too): recorded (payload sealed) in
//                `dead_letters`, then acked.
// Only a spool failure (SPOOL_FULL, I/O) or a store failure rejects: no PUBACK, the device keeps
// the message and sends it again. One device's messages are taken one at a time, so the seq
// check and the append cannot interleave; different devices share the spool's group commit.
import type { HubConfig } from '../core/config.js';
import type { DeviceKind } from '../core/domain.js';
import type { GatewayVia } from '../core/store/gateway-bindings.js';
import { describeError, isVitalGateError } from '../core/errors.js';
import type { Keyring, SealedValue } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import { seqWindowKey, type DeadLetterRecord } from '../core/store/ingest-state.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { AlertBus, AlertEvaluator } from './alerts.js';
import type { IngestMetrics } from './metrics.js';
import type { MinuteRollups, PreparedRollups } from './minute-rollups.js';
import { keySubjectFor, sealEnvelope } from './sealing.js';
import { statusMessage, type TelemetryEnvelope } from './schemas.js';
import type { DeviceSeqLedger } from './seq-ledger.js';
import type { Spool } from './spool.js';
import { encodeSpooledMessage } from './spooled-message.js';
import { RelayedAccounting } from './relayed-accounting.js';
import { validateRelayed } from './relayed-envelope.js';
import { validateTelemetry, type DeadLetterReason, type ValidationContext } from './validation.js';

export interface IntakeDevice {
  deviceId: string;
  kind: DeviceKind;
  patientId: string | null;
  /** The enrollment of the certificate it sent with: its replay window ('' when unknown). */
  enrollment?: string;
  /** A reading relayed by a gateway: the binding it came through (its window is the binding's). */
  via?: GatewayVia;
}

/** Why a message became a dead letter: a validation reason, or the patient's key is destroyed. */
export type DeadLetterCode =
  DeadLetterReason | 'PATIENT_ERASED' | 'DUPLICATE' | 'REPLAY' | 'SEQ_JUMP' | 'DEVICE_IDENTITY_MISMATCH';

export type IntakeResult =
  | { outcome: 'accepted' }
  | { outcome: 'duplicate'; reason: 'DUPLICATE' | 'REPLAY' }
  | { outcome: 'dead_letter'; reason: DeadLetterCode };

export type IntakeLimits = Pick<
  HubConfig,
  'maxPayloadBytes' | 'maxReadingsPerMessage' | 'clockSkewSeconds' | 'maxReadingAgeDays' | 'retentionDays'
>;

export interface TelemetryIntakeDeps {
  store: Pick<ControlPlane, 'deadLetters' | 'devices' | 'securityEvents' | 'gatewayBindings' | 'audit'>;
  keyring: Keyring;
  spool: Spool;
  ledger: DeviceSeqLedger;
  limits: IntakeLimits;
  metrics: IngestMetrics;
  bus: AlertBus;
  alerts?: AlertEvaluator;
  /** One-minute rollups written next to the readings (readers rely on one for every minute). */
  rollups: MinuteRollups;
  logger: Logger;
  /** Called after each accepted message (the writer is nudged). */
  onAccepted?: () => void;
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** An unbound device raises at most one security event per this period. */
const UNBOUND_EVENT_EVERY_MS = 3_600_000;
/**
 * This many messages in a row behind a window (none accepted in between) raise a security event,
 * at most one per window and hour. A reconnecting device resends its unacknowledged messages,
 * a handful at most; a counter reset without re-enrollment, or a replay, goes on and on.
 */
export const BEHIND_WINDOW_EVENT_AFTER = 20;
const BEHIND_WINDOW_EVENT_EVERY_MS = 3_600_000;

/** AAD of a dead letter's sealed payload. */
export function deadLetterAad(deviceId: string, receivedAt: number): string {
  return `dead-letter|${deviceId}|${receivedAt}`;
}

/** The original payload of a dead letter (for an operator inspecting it); null if discarded. */
export function openDeadLetter(keyring: Keyring, letter: DeadLetterRecord): Buffer | null {
  if (letter.sealedPayload.length === 0) return null;
  return keyring.open(
    letter.keySubject,
    letter.keyVersion,
    letter.sealedPayload,
    deadLetterAad(letter.deviceId, letter.receivedAt),
  );
}

export class TelemetryIntake {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly unboundNoticed = new Map<string, number>();
  /** Windows whose latest messages were all behind them: how many, and when an event was raised. */
  private readonly behind = new Map<string, { messages: number; raisedAt?: number }>();
  private readonly firmware = new Map<string, string>();
  private readonly now: () => number;
  private readonly relayed: RelayedAccounting;

  constructor(private readonly deps: TelemetryIntakeDeps) {
    this.now = deps.now ?? Date.now;
    this.relayed = new RelayedAccounting(deps.store, deps.logger, this.now);
  }

  /** Resolves once the message is durable (any outcome); rejects when it must not be acked. */
  accept(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    const previous = this.chains.get(device.deviceId);
    const next = previous
      ? previous.then(
          () => this.acceptInOrder(device, payload),
          () => this.acceptInOrder(device, payload),
        )
      : this.acceptInOrder(device, payload);
    this.chains.set(device.deviceId, next);
    const forget = () => {
      if (this.chains.get(device.deviceId) === next) this.chains.delete(device.deviceId);
    };
    next.then(forget, forget);
    return next;
  }

  private async acceptInOrder(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    const { limits, metrics } = this.deps;
    const now = this.now();
    const ctx: ValidationContext = {
      kind: device.kind,
      now,
      maxPayloadBytes: limits.maxPayloadBytes,
      maxReadings: limits.maxReadingsPerMessage,
      maxClockSkewMs: limits.clockSkewSeconds * 1000,
      // Older than the retention policy would be dropped by InfluxDB: refuse it here, with a reason.
      maxAgeMs: Math.min(limits.maxReadingAgeDays, limits.retentionDays) * DAY_MS,
    };
    const via = device.via;
    const relayed = via ? validateRelayed(payload, ctx, via) : undefined;
    const result = relayed ?? validateTelemetry(payload, ctx);
    if (!result.ok) {
      if (via && result.reason === 'DEVICE_IDENTITY_MISMATCH') this.relayed.identityMismatch(device, via);
      return this.deadLetter(device, payload, result.reason, result.detail, now);
    }
    const { envelope } = result;
    const window = seqWindowKey(device.deviceId, device.enrollment ?? '');
    const seqClass = this.deps.ledger.classify(window, envelope.seq);
    if (seqClass === 'jump') {
      const detail = `seq ${envelope.seq} jumps more than VITALGATE_SEQ_MAX_JUMP past the last accepted (${this.deps.ledger.lastSeq(window) ?? 0})`;
      return this.deadLetter(device, payload, 'SEQ_JUMP', detail, now);
    }
    if (seqClass !== 'new') return this.behindWindow(device, window, seqClass, envelope.seq, payload, now);
    let lines: string[];
    let rollups: PreparedRollups;
    try {
      lines = sealEnvelope(this.deps.keyring, device, envelope);
      rollups = this.deps.rollups.prepare(device, envelope);
    } catch (err) {
      if (isVitalGateError(err, 'KEY_DESTROYED'))
        return this.deadLetter(device, payload, 'PATIENT_ERASED', 'the patient was erased', now);
      if (isVitalGateError(err, 'TOO_MANY_READINGS_PER_SLOT'))
        return this.deadLetter(device, payload, 'TOO_MANY_READINGS', err.message, now);
      throw err;
    }
    try {
      await this.deps.spool.append(
        encodeSpooledMessage(device.deviceId, envelope.seq, lines, rollups.lines, device.enrollment),
      );
    } catch (err) {
      rollups.abort();
      metrics.refused.inc({ code: isVitalGateError(err) ? err.code : 'UNKNOWN' });
      throw err;
    }
    rollups.commit();
    this.deps.ledger.advance(window, envelope.seq);
    if (via && relayed?.ok) this.relayed.accepted(device, via, relayed.identity, relayed.driftMs, now);
    if (this.behind.size > 0) this.behind.delete(window);
    metrics.messagesAccepted.inc();
    metrics.readingsAccepted.inc(envelope.readings.length);
    if (!device.patientId) this.noticeUnbound(device, envelope.readings.length, now);
    this.deps.onAccepted?.();
    this.observe(device, envelope);
    return { outcome: 'accepted' };
  }

  /** Alerts and the live feed see the plaintext once the message is durable. They never fail it. */
  private observe(device: IntakeDevice, envelope: TelemetryEnvelope): void {
    try {
      for (const reading of envelope.readings) {
        const ts = reading.ts ?? envelope.ts;
        this.deps.alerts?.evaluate(device, reading, ts);
        this.deps.bus.emit('reading', {
          patientId: device.patientId,
          deviceId: device.deviceId,
          ts,
          reading,
        });
      }
    } catch (err) {
      this.deps.logger.error(
        { err: describeError(err), device: device.deviceId },
        'alert evaluation failed for an accepted message',
      );
    }
  }

  /**
   * A seq at or below its window's last: not stored as readings (never twice), but kept as a dead
   * letter with its reason, so that nothing acknowledged disappears unseen. A device that keeps
   * at it raises an event: a counter reset without re-enrollment, or a replay; an operator decides.
   */
  private behindWindow(
    device: IntakeDevice,
    window: string,
    seqClass: 'duplicate' | 'replay',
    seq: number,
    payload: Buffer,
    now: number,
  ): IntakeResult {
    this.deps.metrics.duplicates.inc({ kind: seqClass });
    const reason = seqClass === 'duplicate' ? 'DUPLICATE' : 'REPLAY';
    const lastSeq = this.deps.ledger.lastSeq(window);
    this.deadLetter(device, payload, reason, `seq ${seq} is not after the last accepted (${lastSeq})`, now);
    const run = this.behind.get(window) ?? { messages: 0 };
    run.messages += 1;
    this.behind.set(window, run);
    const due = run.raisedAt === undefined || now - run.raisedAt >= BEHIND_WINDOW_EVENT_EVERY_MS;
    if (run.messages >= BEHIND_WINDOW_EVENT_AFTER && due) {
      run.raisedAt = now;
      this.deps.store.securityEvents.add({
        kind: 'telemetry_behind_window',
        severity: 'high',
        deviceId: device.deviceId,
        details: {
          messages: run.messages,
          lastSeq,
          seq,
          enrollment: device.enrollment ?? '',
          note: 'the device keeps sending seqs its window already holds: a counter reset without re-enrollment (re-enroll it) or a replay (investigate); the messages are dead letters',
        },
      });
      this.deps.logger.warn(
        { device: device.deviceId, messages: run.messages },
        'telemetry behind its replay window',
      );
    }
    return { outcome: 'duplicate', reason };
  }

  private noticeUnbound(device: IntakeDevice, readings: number, now: number): void {
    this.deps.metrics.unboundReadings.inc(readings);
    const last = this.unboundNoticed.get(device.deviceId);
    if (last !== undefined && now - last < UNBOUND_EVENT_EVERY_MS) return;
    this.unboundNoticed.set(device.deviceId, now);
    this.deps.store.securityEvents.add({
      kind: 'telemetry_unbound',
      severity: 'medium',
      deviceId: device.deviceId,
      details: { note: 'readings from a device bound to no patient are stored under the quarantine key' },
    });
    this.deps.logger.warn({ device: device.deviceId }, 'telemetry from a device bound to no patient');
  }

  /**
   * Records an invalid message for good: the payload sealed under the patient's key (or the
   * quarantine key). For an erased patient nothing of the payload is kept.
   */
  private deadLetter(
    device: IntakeDevice,
    payload: Buffer,
    reason: DeadLetterCode,
    detail: string,
    now: number,
  ): IntakeResult {
    const keySubject = keySubjectFor(device.patientId);
    let sealed: SealedValue | undefined;
    if (reason !== 'PATIENT_ERASED') {
      try {
        sealed = this.deps.keyring.seal(keySubject, payload, deadLetterAad(device.deviceId, now));
      } catch (err) {
        if (!isVitalGateError(err, 'KEY_DESTROYED')) throw err;
      }
    }
    this.deps.store.deadLetters.add({
      deviceId: device.deviceId,
      reason,
      detail,
      receivedAt: now,
      keySubject: sealed ? keySubject : 'discarded',
      keyVersion: sealed?.keyVersion ?? 0,
      sealedPayload: sealed?.ciphertext ?? Buffer.alloc(0),
    });
    this.deps.metrics.deadLetters.inc({ reason });
    return { outcome: 'dead_letter', reason };
  }

  /** `devices/{id}/status`: the firmware version is recorded; an invalid message is counted. */
  acceptStatus(device: IntakeDevice, payload: Buffer): void {
    let firmware: string | undefined;
    let battery = NaN;
    try {
      const parsed = statusMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (parsed.success) ({ firmware, battery } = parsed.data);
    } catch {
      // not JSON
    }
    if (firmware === undefined) {
      this.deps.metrics.statusMessages.inc({ outcome: 'invalid' });
      return;
    }
    this.deps.metrics.statusMessages.inc({ outcome: 'accepted' });
    this.deps.bus.emit('status', { deviceId: device.deviceId, patientId: device.patientId, battery });
    if (this.firmware.get(device.deviceId) === firmware) return;
    this.deps.store.devices.setFirmware(device.deviceId, firmware);
    this.firmware.set(device.deviceId, firmware);
  }
}
