// Sends the outbox to one EHR destination: one patient's oldest pending items at a time, as one
// FHIR transaction, so each patient's resources arrive in the order they were queued. A try
// that fails for a reason that may pass (down, slow, busy, token lapsed) is tried again after
// an exponential backoff with jitter; after `maxAttempts` tries, or at once when the EHR refuses
// the content itself (400, 422 …), the item is set aside with the EHR's OperationOutcome and a
// security event is raised. A refused transaction of several items is split, so only the item at
// fault is set aside and the rest go on. Every transaction stored is an audit entry (a
// disclosure of the patient's data to the destination). Logs carry counts and codes only.
import type { AuditLog } from '../core/audit.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SecurityEventRepository } from '../core/store/security-events.js';
import type { EhrClient } from './ehr-client.js';
import { fhirPatientId } from './ids.js';
import type { OutboxItem, PushOutbox } from './push-outbox.js';
import { deviceIdsOf, pushTransaction } from './push-transaction.js';
import type { FhirRepository } from './repository.js';

export interface PushSenderOptions {
  outbox: PushOutbox;
  client: Pick<EhrClient, 'transaction'> & { destination: { name: string } };
  repository: Pick<FhirRepository, 'readPatient' | 'readDevice'>;
  /** Whether the pushed Patient carries demographics (name, birth date, MRN). */
  demographics: boolean;
  batchSize: number;
  maxAttempts: number;
  /** First wait before a failed try is repeated; doubles per try up to `maxBackoffMs`. */
  retryBaseMs: number;
  maxBackoffMs?: number;
  audit: AuditLog;
  securityEvents: SecurityEventRepository;
  logger: Logger;
  now?: () => number;
  /** 0..1, for the jitter (tests pass a fixed one). */
  random?: () => number;
  onResult?: (result: { sent: number; failed: number; setAside: number }) => void;
}

export class PushSender {
  private readonly now: () => number;
  private readonly random: () => number;
  private running?: Promise<number> | undefined;
  private timer?: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: PushSenderOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  private get destination(): string {
    return this.o.client.destination.name;
  }

  /** Sends until nothing is due (or the sender is closed); how many items the EHR stored. */
  drain(): Promise<number> {
    this.running ??= this.sendDue().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Drains now and every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = () => {
      this.drain().catch((err: unknown) =>
        this.o.logger.error({ err: describeError(err), destination: this.destination }, 'FHIR push failed'),
      );
    };
    tick();
    this.timer = setInterval(tick, intervalMs).unref();
  }

  /** Stops sending; waits for a transaction in flight (its items stay queued if unanswered). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async sendDue(): Promise<number> {
    let stored = 0;
    this.destroyErased();
    while (!this.closed) {
      let batch: { patientId: string; items: OutboxItem[] } | undefined;
      try {
        batch = this.o.outbox.nextBatch(this.destination, this.o.batchSize);
      } catch (err) {
        // A patient erased between the sweep and this read: their items cannot be opened.
        if (this.destroyErased() > 0) continue;
        throw err;
      }
      if (!batch) break;
      stored += await this.send(batch.patientId, batch.items);
    }
    return stored;
  }

  private destroyErased(): number {
    const destroyed = this.o.outbox.destroyErased();
    if (destroyed > 0) {
      this.o.audit.append({
        actor: 'system',
        action: 'fhir.push.destroy',
        outcome: 'success',
        details: { destroyed, cause: 'patient.erase' },
      });
    }
    return destroyed;
  }

  private async send(patientId: string, items: OutboxItem[]): Promise<number> {
    const patient = this.o.repository.readPatient(patientId, this.o.demographics);
    if (!patient) {
      // Erased since it was queued: its items are destroyed; an unknown patient's are set aside.
      if (this.destroyErased() === 0)
        for (const item of items) this.setAside(item, 'PATIENT_UNKNOWN', 'refused');
      return 0;
    }
    const resources = items.map((i) => i.resource);
    const deviceIds = [...new Set(resources.flatMap(deviceIdsOf))];
    const devices = deviceIds.flatMap((id) => {
      const owned = this.o.repository.readDevice(id);
      return owned ? [owned.resource] : [];
    });
    const verdict = await this.o.client.transaction(pushTransaction(patient, devices, resources));
    const ids = items.map((i) => i.id);
    if (verdict.kind === 'stored') {
      this.o.outbox.sent(ids);
      this.o.audit.append({
        actor: `fhir-push:${this.destination}`,
        action: 'fhir.push',
        target: `patient:${patientId}`,
        outcome: 'success',
        details: { destination: this.destination, resources: items.length, types: typesOf(items) },
      });
      this.o.onResult?.({ sent: items.length, failed: 0, setAside: 0 });
      return items.length;
    }
    if (verdict.kind === 'refused' && items.length > 1) {
      this.o.outbox.isolate(ids, verdict.error);
      this.o.onResult?.({ sent: 0, failed: items.length, setAside: 0 });
      return 0;
    }
    const attempts = items[0]!.attempts + 1;
    if (verdict.kind === 'refused' || attempts >= this.o.maxAttempts) {
      const reason = verdict.kind === 'refused' ? 'refused' : 'attempts';
      const outcome = verdict.kind === 'refused' ? verdict.outcome : undefined;
      for (const item of items) this.setAside(item, verdict.error, reason, outcome);
      this.o.onResult?.({ sent: 0, failed: items.length, setAside: items.length });
      return 0;
    }
    this.o.outbox.failed(ids, verdict.error, this.now() + this.backoff(attempts, verdict.retryAfterMs));
    this.o.logger.warn(
      { destination: this.destination, resources: items.length, attempts, error: verdict.error },
      'FHIR push: the EHR did not store a transaction; it will be tried again',
    );
    this.o.onResult?.({ sent: 0, failed: items.length, setAside: 0 });
    // Nothing else is due for this patient now; other patients' items may be.
    return 0;
  }

  private setAside(item: OutboxItem, error: string, reason: 'refused' | 'attempts', outcome?: object): void {
    this.o.outbox.setAside(this.destination, item, error, outcome as Record<string, unknown> | undefined);
    this.o.securityEvents.add({
      kind: 'fhir.push.set_aside',
      severity: 'medium',
      details: {
        destination: this.destination,
        item: item.id,
        resourceType: item.resourceType,
        patient: fhirPatientId(item.patientId),
        reason,
        error,
      },
    });
    this.o.logger.warn(
      { destination: this.destination, item: item.id, resourceType: item.resourceType, reason, error },
      'FHIR push: a resource was set aside for an operator',
    );
  }

  /** Exponential backoff with jitter (half to all of the step), at least what Retry-After asks. */
  private backoff(attempts: number, retryAfterMs?: number): number {
    const cap = this.o.maxBackoffMs ?? 300_000;
    const step = Math.min(cap, this.o.retryBaseMs * 2 ** (attempts - 1));
    const jittered = step / 2 + (step / 2) * this.random();
    return Math.max(jittered, Math.min(cap, retryAfterMs ?? 0));
  }
}

function typesOf(items: readonly OutboxItem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of items) counts[i.resourceType] = (counts[i.resourceType] ?? 0) + 1;
  return counts;
}
