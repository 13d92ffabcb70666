// The durable outbox of FHIR resources for an EHR (issue 16's push). An item is one resource of
// one patient, sealed under that patient's data key, keyed by the identifier the hub owns (so
// the same resource is never queued twice, and the EHR's conditional create never stores it
// twice). Items of a patient go out in the order they were queued; an item the EHR refused for
// good is set aside ("dead") with the EHR's OperationOutcome, sealed too, and the patient's
// later items go on. A sent item keeps only its identifier (an Observation's for a week), so
// the same resource collected again is not queued again. Items of an erased patient are destroyed. No HTTP.
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { Db } from '../core/store/database.js';
import { identifierSystem } from './push-transaction.js';

type Json = Record<string, unknown>;

export interface QueuedResource {
  patientId: string;
  /** A FHIR resource as the facade serves it (see `hubIdentifier`). */
  resource: Json;
  /** The outbox key when one resource is sent in several states (an alert's Flag); else its identifier. */
  key?: string | undefined;
}

export interface OutboxItem {
  id: number;
  patientId: string;
  resourceType: string;
  identifier: string;
  resource: Json;
  attempts: number;
}

/** What an operator sees of a set-aside item: ids, codes and times, never the resource. */
export interface DeadLetter {
  id: number;
  destination: string;
  patientId: string;
  resourceType: string;
  identifier: string;
  attempts: number;
  queuedAt: string;
  deadAt: string;
  error: string;
}

export interface OutboxStats {
  pending: number;
  dead: number;
  /** When the oldest pending item was queued (ms), null when none is. */
  oldestPendingAt: number | null;
}

interface ItemRow {
  id: number;
  patient_id: string;
  resource_type: string;
  identifier: string;
  key_version: number;
  sealed: Buffer;
  attempts: number;
  alone: number;
  next_attempt_at: number;
}

/**
 * The hub's identifier of a resource, as `system|value`: its first `identifier`, or else
 * `urn:vitalgate:<type>` and its id (what `withHubIdentifier` gives it when it is sent).
 */
export function hubIdentifier(resource: Json): string {
  const first = (resource.identifier as { system?: string; value?: string }[] | undefined)?.[0];
  if (first?.system && first.value) return `${first.system}|${first.value}`;
  if (typeof resource.id !== 'string') throw new Error(`a ${String(resource.resourceType)} without an id`);
  return `${identifierSystem(String(resource.resourceType))}|${resource.id}`;
}

const SENT_KEPT_MS = 7 * 86_400_000;

const aad = (destination: string, identifier: string, what: string) =>
  `fhir-push:${what}:${destination}:${identifier}`;

export class PushOutbox {
  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues resources (in this order); ones already queued for the destination are skipped. */
  enqueue(destination: string, resources: readonly QueuedResource[]): number {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO fhir_push_items
         (destination, patient_id, resource_type, identifier, key_version, sealed, state, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    );
    const at = this.now();
    let added = 0;
    const sealers = new Map<string, ReturnType<Keyring['sealer']>>();
    for (const { patientId, resource, key } of resources) {
      const identifier = key ?? hubIdentifier(resource);
      let sealer = sealers.get(patientId);
      if (!sealer) sealers.set(patientId, (sealer = this.keyring.sealer(patientKeySubject(patientId))));
      const sealed = sealer.seal(Buffer.from(JSON.stringify(resource)), aad(destination, identifier, 'item'));
      const type = String(resource.resourceType);
      added += insert.run(
        destination,
        patientId,
        type,
        identifier,
        sealer.keyVersion,
        sealed,
        at,
        at,
      ).changes;
    }
    return added;
  }

  /**
   * The next transaction to send: the pending head items of the patient whose oldest pending
   * item is due soonest (and is due now), at most `max` of them (one when the head must go
   * alone). Undefined when nothing is due.
   */
  nextBatch(destination: string, max: number): { patientId: string; items: OutboxItem[] } | undefined {
    const head = this.db
      .prepare(
        `SELECT i.patient_id, i.next_attempt_at FROM fhir_push_items i
         JOIN (SELECT patient_id, MIN(id) AS id FROM fhir_push_items
               WHERE destination = ? AND state = 'pending' GROUP BY patient_id) h ON h.id = i.id
         WHERE i.next_attempt_at <= ? ORDER BY i.next_attempt_at, i.id LIMIT 1`,
      )
      .get(destination, this.now()) as { patient_id: string } | undefined;
    if (!head) return undefined;
    const rows = this.db
      .prepare(
        `SELECT id, patient_id, resource_type, identifier, key_version, sealed, attempts, alone, next_attempt_at
         FROM fhir_push_items WHERE destination = ? AND state = 'pending' AND patient_id = ?
         ORDER BY id LIMIT ?`,
      )
      .all(destination, head.patient_id, max) as ItemRow[];
    const alone = rows.findIndex((r) => r.alone === 1);
    const batch = alone === 0 ? rows.slice(0, 1) : alone > 0 ? rows.slice(0, alone) : rows;
    const items = batch.map((r) => ({
      id: r.id,
      patientId: r.patient_id,
      resourceType: r.resource_type,
      identifier: r.identifier,
      attempts: r.attempts,
      resource: JSON.parse(
        this.keyring
          .open(
            patientKeySubject(r.patient_id),
            r.key_version,
            r.sealed,
            aad(destination, r.identifier, 'item'),
          )
          .toString('utf8'),
      ) as Json,
    }));
    return { patientId: head.patient_id, items };
  }

  /** The EHR stored (or already had) these items: only their identifiers stay, for a week. */
  sent(ids: readonly number[]): void {
    const at = this.now();
    const done = this.db.prepare(
      `UPDATE fhir_push_items SET state = 'sent', sealed = x'', sent_at = ?, last_error = NULL WHERE id = ?`,
    );
    // Observations are collected once per range; other resources (Communications) come with
    // every export, so their identifiers stay for good and they are never queued again.
    const prune = this.db.prepare(
      `DELETE FROM fhir_push_items WHERE state = 'sent' AND sent_at < ? AND resource_type = 'Observation'`,
    );
    this.db.transaction(() => {
      ids.forEach((id) => done.run(at, id));
      prune.run(at - SENT_KEPT_MS);
    })();
  }

  /** A failed try: the items are tried again at `retryAt`. */
  failed(ids: readonly number[], error: string, retryAt: number): void {
    const update = this.db.prepare(
      'UPDATE fhir_push_items SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?',
    );
    this.db.transaction(() => ids.forEach((id) => update.run(error, retryAt, id)))();
  }

  /** A transaction of several items was refused: each goes alone next, to find the one at fault. */
  isolate(ids: readonly number[], error: string): void {
    const update = this.db.prepare(
      'UPDATE fhir_push_items SET alone = 1, attempts = attempts + 1, last_error = ? WHERE id = ?',
    );
    this.db.transaction(() => ids.forEach((id) => update.run(error, id)))();
  }

  /** Sets an item aside for an operator, with the destination's OperationOutcome (sealed). */
  setAside(destination: string, item: OutboxItem, error: string, outcome?: Json): void {
    const sealed = outcome
      ? this.keyring.seal(
          patientKeySubject(item.patientId),
          Buffer.from(JSON.stringify(outcome)),
          aad(destination, item.identifier, 'outcome'),
        )
      : undefined;
    this.db
      .prepare(
        `UPDATE fhir_push_items SET state = 'dead', attempts = attempts + 1, last_error = ?,
           outcome_key_version = ?, outcome_sealed = ?, dead_at = ? WHERE id = ?`,
      )
      .run(error, sealed?.keyVersion ?? null, sealed?.ciphertext ?? null, this.now(), item.id);
  }

  /** The OperationOutcome a set-aside item was refused with (PHI: for a PHI-gated view). */
  outcomeOf(id: number): Json | undefined {
    const row = this.db
      .prepare(
        'SELECT destination, patient_id, identifier, outcome_key_version, outcome_sealed FROM fhir_push_items WHERE id = ?',
      )
      .get(id) as
      | {
          destination: string;
          patient_id: string;
          identifier: string;
          outcome_key_version: number | null;
          outcome_sealed: Buffer | null;
        }
      | undefined;
    if (!row?.outcome_sealed || row.outcome_key_version === null) return undefined;
    const plain = this.keyring.open(
      patientKeySubject(row.patient_id),
      row.outcome_key_version,
      row.outcome_sealed,
      aad(row.destination, row.identifier, 'outcome'),
    );
    return JSON.parse(plain.toString('utf8')) as Json;
  }

  deadLetters(destination?: string, limit = 500): DeadLetter[] {
    const rows = this.db
      .prepare(
        `SELECT id, destination, patient_id, resource_type, identifier, attempts, created_at, dead_at, last_error
         FROM fhir_push_items WHERE state = 'dead' AND (? IS NULL OR destination = ?) ORDER BY id LIMIT ?`,
      )
      .all(destination ?? null, destination ?? null, limit) as {
      id: number;
      destination: string;
      patient_id: string;
      resource_type: string;
      identifier: string;
      attempts: number;
      created_at: number;
      dead_at: number;
      last_error: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      destination: r.destination,
      patientId: r.patient_id,
      resourceType: r.resource_type,
      identifier: r.identifier,
      attempts: r.attempts,
      queuedAt: new Date(r.created_at).toISOString(),
      deadAt: new Date(r.dead_at).toISOString(),
      error: r.last_error ?? '',
    }));
  }

  /** Puts set-aside items (one, or all when `id` is undefined) back in the queue; how many. */
  retry(id?: number): number {
    return this.db
      .prepare(
        `UPDATE fhir_push_items SET state = 'pending', attempts = 0, alone = 1, next_attempt_at = 0,
           outcome_key_version = NULL, outcome_sealed = NULL, dead_at = NULL WHERE state = 'dead' AND (? IS NULL OR id = ?)`,
      )
      .run(id ?? null, id ?? null).changes;
  }

  /** Destroys the items (pending or set aside) of patients who were erased; how many. */
  destroyErased(): number {
    return this.db
      .prepare(
        `DELETE FROM fhir_push_items WHERE patient_id IN
           (SELECT id FROM patients WHERE erased_at IS NOT NULL)`,
      )
      .run().changes;
  }

  stats(destination: string): OutboxStats {
    const row = this.db
      .prepare(
        `SELECT SUM(state = 'pending') AS pending, SUM(state = 'dead') AS dead,
           MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest
         FROM fhir_push_items WHERE destination = ?`,
      )
      .get(destination) as { pending: number | null; dead: number | null; oldest: number | null };
    return { pending: row.pending ?? 0, dead: row.dead ?? 0, oldestPendingAt: row.oldest };
  }

  /** Up to which instant a patient's export was queued for the destination. */
  collectedTo(destination: string, patientId: string): number | undefined {
    const row = this.db
      .prepare('SELECT collected_to FROM fhir_push_cursors WHERE destination = ? AND patient_id = ?')
      .get(destination, patientId) as { collected_to: number } | undefined;
    return row?.collected_to;
  }

  /** Queues a patient's resources and moves their cursor, in one transaction. */
  collect(destination: string, patientId: string, resources: readonly QueuedResource[], to: number): number {
    return this.db.transaction(() => {
      const added = this.enqueue(destination, resources);
      this.db
        .prepare(
          `INSERT INTO fhir_push_cursors (destination, patient_id, collected_to) VALUES (?, ?, ?)
           ON CONFLICT (destination, patient_id) DO UPDATE SET collected_to = excluded.collected_to`,
        )
        .run(destination, patientId, to);
      return added;
    })();
  }
}
