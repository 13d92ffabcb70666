// Fetches what adherence needs (the patient's enrolment and devices from the control plane, the
// days of data from InfluxDB's minute rollups) and computes it (adherence.ts), a few patients at
// a time for the programme view.
import { VitalGateError } from '../core/errors.js';
import type { DeviceRepository } from '../core/store/devices.js';
import type { RpmEnrolmentRepository } from '../core/store/rpm-enrolments.js';
import { ROLLING_DAYS, byFallingBehind, patientAdherence, type PatientAdherence } from './adherence.js';
import type { SensedDaySource } from './sensed-days-source.js';
import { addDays, type SiteCalendar } from './site-calendar.js';

const CONCURRENCY = 8;

export interface ProgrammeFilter {
  /** Only patients with at least this many days of data in the rolling 30 days. */
  minDays?: number | undefined;
  /** Only patients with at most this many. */
  maxDays?: number | undefined;
}

export class AdherenceService {
  constructor(
    private readonly deps: {
      enrolments: RpmEnrolmentRepository;
      devices: DeviceRepository;
      days: SensedDaySource;
      calendar: SiteCalendar;
      now: () => number;
    },
  ) {}

  async patient(patientId: string): Promise<PatientAdherence> {
    const enrolment = this.deps.enrolments.get(patientId);
    if (!enrolment)
      throw new VitalGateError('RPM_NOT_ENROLLED', 'this patient is not enrolled in the RPM programme');
    const now = this.deps.now();
    const { calendar } = this.deps;
    const from = calendar.startOf(addDays(calendar.dateOf(now), -(ROLLING_DAYS - 1)));
    const [presences, lastSensed] = await Promise.all([
      this.deps.days.presences(patientId, from, now + 60_000),
      this.deps.days.lastSensed(patientId, now + 60_000),
    ]);
    const devices = this.deps.devices
      .list({ patientId })
      .filter((d) => d.kind !== 'gateway' && (d.status === 'active' || d.status === 'pending'))
      .map((d) => ({ id: d.id, kind: d.kind }));
    return patientAdherence(
      {
        patientId,
        monitoringStart: enrolment.monitoringStart,
        endedOn: enrolment.endedOn,
        devices,
        presences,
        lastSensed,
      },
      calendar,
      now,
    );
  }

  /** The enrolled patients among `patientIds`, falling behind first, filtered by days of data. */
  async programme(patientIds: readonly string[], filter: ProgrammeFilter = {}): Promise<PatientAdherence[]> {
    const today = this.deps.calendar.dateOf(this.deps.now());
    const enrolled = patientIds.filter((id) => {
      const e = this.deps.enrolments.get(id);
      return e !== undefined && (e.endedOn === null || e.endedOn >= today);
    });
    const out: PatientAdherence[] = [];
    let next = 0;
    const worker = async () => {
      while (next < enrolled.length) out.push(await this.patient(enrolled[next++]!));
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, enrolled.length) }, worker));
    return out
      .filter(
        (p) =>
          (filter.minDays === undefined || p.days >= filter.minDays) &&
          (filter.maxDays === undefined || p.days <= filter.maxDays),
      )
      .sort(byFallingBehind);
  }
}
