// The control plane: one SQLite database and its repositories, opened together.
import { join } from 'node:path';
import { AuditLog } from '../audit.js';
import { CertificateRepository } from './certificates.js';
import { CheckRunRepository } from './check-runs.js';
import { openDatabase, type Db } from './database.js';
import { DeviceModelRepository } from './device-models.js';
import { DeviceRepository } from './devices.js';
import { EnrollmentTokenRepository } from './enrollment-tokens.js';
import { GatewayBindingRepository } from './gateway-bindings.js';
import { LoginThrottleRepository } from './login-throttle.js';
import { AlertRepository, DeadLetterRepository, DeviceSeqRepository } from './ingest-state.js';
import { MetaRepository } from './meta.js';
import { PasskeyRepository } from './passkeys.js';
import { PatientRepository } from './patients.js';
import { PkiMaterialRepository } from './pki-material.js';
import { RpmEnrolmentRepository } from './rpm-enrolments.js';
import { RPM_STATEMENT_SEAL_ACTION, RpmStatementRepository } from './rpm-statements.js';
import { RpmTimeEntryRepository } from './rpm-time-entries.js';
import { SecurityEventRepository } from './security-events.js';
import { UserRepository } from './users.js';

export const CONTROL_PLANE_FILE = 'control-plane.sqlite';

export class ControlPlane {
  readonly devices: DeviceRepository;
  readonly certificates: CertificateRepository;
  readonly enrollmentTokens: EnrollmentTokenRepository;
  readonly pkiMaterial: PkiMaterialRepository;
  readonly meta: MetaRepository;
  readonly users: UserRepository;
  readonly patients: PatientRepository;
  readonly audit: AuditLog;
  readonly checkRuns: CheckRunRepository;
  readonly securityEvents: SecurityEventRepository;
  readonly deadLetters: DeadLetterRepository;
  readonly deviceSeqs: DeviceSeqRepository;
  readonly alerts: AlertRepository;
  readonly deviceModels: DeviceModelRepository;
  readonly loginThrottle: LoginThrottleRepository;
  readonly gatewayBindings: GatewayBindingRepository;
  /** Staff passkeys (WebAuthn); `revokeForStaffDevice` ends those of a lost staff device. */
  readonly passkeys: PasskeyRepository;
  /** RPM programme (rpm/): enrolments, time entries, and closed months sealed in the audit chain. */
  readonly rpmEnrolments: RpmEnrolmentRepository;
  readonly rpmTimeEntries: RpmTimeEntryRepository;
  readonly rpmStatements: RpmStatementRepository;

  constructor(
    readonly db: Db,
    now: () => number = Date.now,
  ) {
    this.devices = new DeviceRepository(db, now);
    this.certificates = new CertificateRepository(db, now);
    this.enrollmentTokens = new EnrollmentTokenRepository(db, now);
    this.pkiMaterial = new PkiMaterialRepository(db, now);
    this.meta = new MetaRepository(db);
    this.users = new UserRepository(db, now);
    this.patients = new PatientRepository(db, now);
    this.audit = new AuditLog(db, now);
    this.checkRuns = new CheckRunRepository(db);
    this.securityEvents = new SecurityEventRepository(db, now);
    this.deadLetters = new DeadLetterRepository(db);
    this.deviceSeqs = new DeviceSeqRepository(db);
    this.alerts = new AlertRepository(db, now);
    this.deviceModels = new DeviceModelRepository(db, now);
    this.loginThrottle = new LoginThrottleRepository(db);
    this.gatewayBindings = new GatewayBindingRepository(db, now);
    this.passkeys = new PasskeyRepository(db, now);
    this.rpmEnrolments = new RpmEnrolmentRepository(db);
    this.rpmTimeEntries = new RpmTimeEntryRepository(db);
    this.rpmStatements = new RpmStatementRepository(db, this.audit);
    this.audit.addSealCheck(RPM_STATEMENT_SEAL_ACTION, this.rpmStatements.sealCheck());
  }

  static open(dataDir: string, now?: () => number): ControlPlane {
    return new ControlPlane(openDatabase(join(dataDir, CONTROL_PLANE_FILE)), now);
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
