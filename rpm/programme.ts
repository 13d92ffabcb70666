// The RPM programme's parts, built once from the control plane, the keyring, the site's time
// zone and where days of data come from. The API and the hub use this; tests too.
import type { Keyring } from '../core/keyring.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { AdherenceService } from './adherence-service.js';
import { RpmEnrolments } from './enrolment.js';
import { RpmLedger } from './month-close.js';
import type { SensedDaySource } from './sensed-days-source.js';
import { SiteCalendar } from './site-calendar.js';
import { ReportFiling } from './report-filing.js';
import { ReportService, type MinuteSumsSource } from './report-service.js';
import { RpmFiledReportRepository } from '../core/store/rpm-filed-reports.js';
import { TimeLog } from './time-log.js';

export interface RpmProgramme {
  calendar: SiteCalendar;
  enrolments: RpmEnrolments;
  timeLog: TimeLog;
  ledger: RpmLedger;
  adherence: AdherenceService;
  reports: ReportService;
  filing: ReportFiling;
  days: SensedDaySource;
}

export function createRpmProgramme(deps: {
  store: ControlPlane;
  keyring: Keyring;
  timeZone: string;
  days: SensedDaySource;
  /** Minute statistics for clinical reports (the telemetry reader). */
  telemetry: MinuteSumsSource;
  now: () => number;
}): RpmProgramme {
  const { store, now } = deps;
  const calendar = new SiteCalendar(deps.timeZone);
  const enrolments = new RpmEnrolments({
    enrolments: store.rpmEnrolments,
    statements: store.rpmStatements,
    patients: store.patients,
    users: store.users,
    audit: store.audit,
    calendar,
    now,
  });
  return {
    calendar,
    enrolments,
    timeLog: new TimeLog({
      entries: store.rpmTimeEntries,
      enrolments,
      keyring: deps.keyring,
      audit: store.audit,
      calendar,
      now,
    }),
    ledger: new RpmLedger({
      enrolments: store.rpmEnrolments,
      timeEntries: store.rpmTimeEntries,
      statements: store.rpmStatements,
      days: deps.days,
      calendar,
      now,
    }),
    adherence: new AdherenceService({
      enrolments: store.rpmEnrolments,
      devices: store.devices,
      days: deps.days,
      calendar,
      now,
    }),
    reports: new ReportService({ telemetry: deps.telemetry, db: store.db, calendar, now }),
    filing: new ReportFiling({
      reports: new RpmFiledReportRepository(store.db),
      keyring: deps.keyring,
      audit: store.audit,
      now,
    }),
    days: deps.days,
  };
}
