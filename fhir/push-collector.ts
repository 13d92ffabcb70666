// Puts what a patient's FHIR export holds into the outbox for a destination: the resources of
// `Patient/{id}/$everything` (the same operation the facade serves, so whatever the export
// gains, such as filed Communications, is pushed too) over the range since the patient's
// cursor, up to `settleMs` before now (readings still on their way from the spool land before
// the range is closed). Observations are pushed when the destination asks for them, and only
// those from devices of the kinds it names. Patient and Device are not queued: each transaction
// carries them as conditional creates. The queue and the cursor move in one SQLite transaction,
// so a crash between collecting and queuing collects the range again. No HTTP here.
import { patientEverything } from './everything.js';
import type { PushOutbox, QueuedResource } from './push-outbox.js';
import type { FhirRepository, FhirResource } from './repository.js';

/** Resource types the export holds that are pushed (the Patient and Devices travel with them). */
const CARRIED = new Set(['Patient', 'Device']);
const PAGE = 1000;

export interface PushScope {
  /** Push Observations at all. */
  observations: boolean;
  /** Device kinds whose Observations are pushed; empty: every kind. */
  deviceKinds: readonly string[];
  /** Hub patient ids pushed; empty: every patient. */
  patients: readonly string[];
  /** The patient's alerts raised or ended in (from, to], as Flags (fhir/alert-flags.ts); none without it. */
  alerts?: ((patientId: string, from: number, to: number) => QueuedResource[]) | undefined;
}

export interface PushCollectorOptions {
  outbox: PushOutbox;
  destination: string;
  repository: FhirRepository;
  scope: PushScope;
  /** How far behind now the collected range ends. */
  settleMs: number;
  /** How far back a patient's first range starts (0: from the moment push first sees them). */
  backfillMs: number;
  now?: () => number;
}

export class PushCollector {
  private readonly now: () => number;

  constructor(private readonly o: PushCollectorOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Queues every patient's new resources; how many were queued. */
  async collect(): Promise<number> {
    const to = this.now() - this.o.settleMs;
    const wanted = new Set(this.o.scope.patients);
    let queued = 0;
    for (const patientId of this.o.repository.patientIds()) {
      if (wanted.size > 0 && !wanted.has(patientId)) continue;
      queued += await this.collectPatient(patientId, to);
    }
    return queued;
  }

  private async collectPatient(patientId: string, to: number): Promise<number> {
    const cursor = this.o.outbox.collectedTo(this.o.destination, patientId);
    const from = (cursor ?? to - this.o.backfillMs) + 1;
    if (from > to) {
      if (cursor === undefined) this.o.outbox.collect(this.o.destination, patientId, [], to);
      return 0;
    }
    const kinds = this.deviceKinds(patientId);
    const resources: QueuedResource[] = [];
    // Filed Communications come with the export wherever the repository holds them.
    const include = {
      devices: false,
      observations: this.o.scope.observations,
      communications: true,
      documents: true,
    };
    for (let offset = 0; ; offset += PAGE) {
      const page = await patientEverything(
        this.o.repository,
        patientId,
        false,
        { from, to, count: PAGE, offset },
        include,
      );
      if (!page) return 0; // erased meanwhile
      for (const resource of page.resources) {
        if (CARRIED.has(String(resource.resourceType))) continue;
        if (resource.resourceType === 'Observation' && !this.kindWanted(resource, kinds)) continue;
        resources.push({ patientId, resource });
      }
      if (!page.more) break;
    }
    resources.push(...(this.o.scope.alerts?.(patientId, from - 1, to) ?? []));
    return this.o.outbox.collect(this.o.destination, patientId, resources, to);
  }

  /** The kind of each of the patient's devices, by FHIR device id (only when kinds are named). */
  private deviceKinds(patientId: string): Map<string, string> | undefined {
    if (this.o.scope.deviceKinds.length === 0) return undefined;
    const kinds = new Map<string, string>();
    for (const { resource } of this.o.repository.searchDevices(patientId)) {
      const code = (resource.type as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code;
      if (code) kinds.set(String(resource.id), code);
    }
    return kinds;
  }

  private kindWanted(observation: FhirResource, kinds: Map<string, string> | undefined): boolean {
    if (!kinds) return true;
    const ref = (observation.device as { reference?: string } | undefined)?.reference ?? '';
    const kind = kinds.get(ref.replace(/^Device\//, ''));
    return kind !== undefined && this.o.scope.deviceKinds.includes(kind);
  }
}
