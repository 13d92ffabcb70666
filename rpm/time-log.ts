// Treatment-management time: a clinician's entries on a patient. An entry starts proposed (a
// timer stopped in the patient view or the messaging screen, or typed in) and is counted only
// once the same clinician confirms it: never silently. The note is sealed under the patient's
// key. Entries in a closed month cannot be added or decided.
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { RpmTimeEntry, RpmTimeEntryRepository } from '../core/store/rpm-time-entries.js';
import type { RpmEnrolments } from './enrolment.js';
import { TIME_ACTIVITIES, type TimeActivity } from './monthly-statement.js';
import { firstOfMonth, lastOfMonth, monthOf, type SiteCalendar } from './site-calendar.js';

export const TIME_ORIGINS = ['patient_view', 'messaging', 'entry'] as const;
export type TimeOrigin = (typeof TIME_ORIGINS)[number];
/** One entry is at most a working day. */
export const MAX_ENTRY_MINUTES = 480;
const MAX_NOTE_BYTES = 2000;

export interface ProposedTime {
  startedAt: number;
  minutes: number;
  activity: TimeActivity;
  interactive: boolean;
  origin: TimeOrigin;
  note?: string | undefined;
}

export interface TimeEntryView {
  id: number;
  patientId: string;
  clinician: string;
  startedAt: string;
  minutes: number;
  activity: string;
  interactive: boolean;
  origin: string;
  state: string;
  note: string | null;
}

/** Binds a note to its patient, clinician and creation time: moved elsewhere, it does not open. */
const noteAad = (e: { patientId: string; clinician: string; createdAt: number }) =>
  `rpm-time-note|${e.patientId}|${e.clinician}|${e.createdAt}`;

export class TimeLog {
  constructor(
    private readonly deps: {
      entries: RpmTimeEntryRepository;
      enrolments: RpmEnrolments;
      keyring: Keyring;
      audit: AuditLog;
      calendar: SiteCalendar;
      now: () => number;
    },
  ) {}

  propose(patientId: string, clinician: string, t: ProposedTime, source?: string): TimeEntryView {
    this.deps.enrolments.require(patientId);
    const now = this.deps.now();
    if (!Number.isInteger(t.minutes) || t.minutes < 1 || t.minutes > MAX_ENTRY_MINUTES)
      throw new VitalGateError(
        'RPM_INVALID',
        `minutes: expected a whole number from 1 to ${MAX_ENTRY_MINUTES}`,
        {
          field: 'minutes',
        },
      );
    if (!TIME_ACTIVITIES.includes(t.activity))
      throw new VitalGateError('RPM_INVALID', 'activity: not one of the listed activities', {
        field: 'activity',
      });
    if (t.startedAt > now + 60_000)
      throw new VitalGateError('RPM_INVALID', 'startedAt: time cannot be entered ahead', {
        field: 'startedAt',
      });
    if (t.note !== undefined && Buffer.byteLength(t.note) > MAX_NOTE_BYTES)
      throw new VitalGateError('RPM_INVALID', `note: at most ${MAX_NOTE_BYTES} bytes`, { field: 'note' });
    this.deps.enrolments.refuseClosed(monthOf(this.deps.calendar.dateOf(t.startedAt)));
    const sealer = t.note ? this.deps.keyring.sealer(patientKeySubject(patientId)) : undefined;
    const sealed =
      sealer && t.note
        ? sealer.seal(Buffer.from(t.note), noteAad({ patientId, clinician, createdAt: now }))
        : null;
    const id = this.deps.entries.add({
      patientId,
      clinician,
      startedAt: t.startedAt,
      minutes: t.minutes,
      activity: t.activity,
      interactive: t.interactive,
      origin: t.origin,
      createdAt: now,
      keyVersion: sealer?.keyVersion ?? null,
      sealedNote: sealed,
    });
    this.deps.audit.append({
      actor: `user:${clinician}`,
      action: 'rpm.time.propose',
      target: `patient:${patientId}`,
      outcome: 'success',
      source,
      details: {
        entry: id,
        minutes: t.minutes,
        activity: t.activity,
        interactive: t.interactive,
        origin: t.origin,
      },
    });
    return this.view(this.deps.entries.get(id)!);
  }

  /** Confirms (counts) or discards a proposed entry; only its own clinician may. */
  decide(id: number, clinician: string, decision: 'confirmed' | 'discarded', source?: string): TimeEntryView {
    const entry = this.deps.entries.get(id);
    if (!entry) throw new VitalGateError('RPM_TIME_ENTRY_NOT_FOUND', 'no such time entry');
    if (entry.clinician !== clinician)
      throw new VitalGateError(
        'RPM_TIME_ENTRY_NOT_YOURS',
        'only the clinician who made a time entry confirms it',
      );
    this.deps.enrolments.refuseClosed(monthOf(this.deps.calendar.dateOf(entry.startedAt)));
    if (!this.deps.entries.decide(id, decision, this.deps.now()))
      throw new VitalGateError('RPM_TIME_ENTRY_DECIDED', `this time entry is ${entry.state} already`);
    this.deps.audit.append({
      actor: `user:${clinician}`,
      action: decision === 'confirmed' ? 'rpm.time.confirm' : 'rpm.time.discard',
      target: `patient:${entry.patientId}`,
      outcome: 'success',
      source,
      details: { entry: id, minutes: entry.minutes },
    });
    return this.view(this.deps.entries.get(id)!);
  }

  get(id: number): RpmTimeEntry | undefined {
    return this.deps.entries.get(id);
  }

  /** A patient's entries of a month (site calendar), every state. */
  forMonth(patientId: string, month: string): TimeEntryView[] {
    const { from, to } = this.deps.calendar.span(firstOfMonth(month), lastOfMonth(month));
    return this.deps.entries.forPatient(patientId, from, to).map((e) => this.view(e));
  }

  view(e: RpmTimeEntry): TimeEntryView {
    return {
      id: e.id,
      patientId: e.patientId,
      clinician: e.clinician,
      startedAt: new Date(e.startedAt).toISOString(),
      minutes: e.minutes,
      activity: e.activity,
      interactive: e.interactive,
      origin: e.origin,
      state: e.state,
      note: this.openNote(e),
    };
  }

  private openNote(e: RpmTimeEntry): string | null {
    if (!e.sealedNote || e.keyVersion === null) return null;
    try {
      return this.deps.keyring
        .open(patientKeySubject(e.patientId), e.keyVersion, e.sealedNote, noteAad(e))
        .toString();
    } catch {
      return null; // erased patient: the note is gone with the key
    }
  }
}
