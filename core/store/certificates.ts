// Issued certificates and their revocation state: the registry behind the CRL, OCSP and the
// broker's "is this the device's current certificate" check.
import type { Db } from './database.js';

export type CertificatePurpose = 'device' | 'server' | 'ca' | 'command-signer';
export type CertificateStatus = 'active' | 'superseded' | 'revoked';

/** RFC 5280 CRLReason names. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface CertificateRecord {
  serial: string;
  deviceId: string | null;
  purpose: CertificatePurpose;
  subject: string;
  notBefore: number;
  notAfter: number;
  certificatePem: string;
  status: CertificateStatus;
  supersededAt: number | null;
  graceUntil: number | null;
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
  createdAt: number;
  /**
   * The enrollment a device certificate belongs to: the serial of the certificate its one-time
   * token got; renewals keep it. Null for that first certificate itself (and for non-devices).
   */
  enrollmentSerial: string | null;
  /**
   * Serial of the issuing CA certificate that signed it (issuing CA rotation). Null for
   * certificates made before the first rotation (which tags them) and for CA certificates.
   */
  issuerSerial: string | null;
}

interface CertificateRow {
  serial: string;
  device_id: string | null;
  purpose: CertificatePurpose;
  subject: string;
  not_before: number;
  not_after: number;
  certificate_pem: string;
  status: CertificateStatus;
  superseded_at: number | null;
  grace_until: number | null;
  revoked_at: number | null;
  revocation_reason: RevocationReason | null;
  created_at: number;
  enrollment_serial: string | null;
  issuer_serial: string | null;
}

function fromRow(r: CertificateRow): CertificateRecord {
  return {
    serial: r.serial,
    deviceId: r.device_id,
    purpose: r.purpose,
    subject: r.subject,
    notBefore: r.not_before,
    notAfter: r.not_after,
    certificatePem: r.certificate_pem,
    status: r.status,
    supersededAt: r.superseded_at,
    graceUntil: r.grace_until,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    createdAt: r.created_at,
    enrollmentSerial: r.enrollment_serial,
    issuerSerial: r.issuer_serial,
  };
}

export interface NewCertificate {
  serial: string;
  deviceId: string | null;
  purpose: CertificatePurpose;
  subject: string;
  notBefore: number;
  notAfter: number;
  certificatePem: string;
  /** The issuing CA's serial (see CertificateRecord.issuerSerial). */
  issuerSerial?: string | null;
}

/** An active device whose current certificate comes from another issuing CA. */
export interface DeviceOnIssuer {
  deviceId: string;
  serial: string;
  issuerSerial: string | null;
  notAfter: number;
}

export class CertificateRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(cert: NewCertificate): CertificateRecord {
    this.db
      .prepare(
        `INSERT INTO certificates (serial, device_id, purpose, subject, not_before, not_after, certificate_pem, status, created_at, issuer_serial)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
      )
      .run(
        cert.serial,
        cert.deviceId,
        cert.purpose,
        cert.subject,
        cert.notBefore,
        cert.notAfter,
        cert.certificatePem,
        this.now(),
        cert.issuerSerial ?? null,
      );
    return this.get(cert.serial)!;
  }

  get(serial: string): CertificateRecord | undefined {
    const row = this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(serial.toLowerCase()) as
      CertificateRow | undefined;
    return row && fromRow(row);
  }

  listForDevice(deviceId: string): CertificateRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM certificates WHERE device_id = ? ORDER BY created_at DESC')
        .all(deviceId) as CertificateRow[]
    ).map(fromRow);
  }

  listByStatus(status: CertificateStatus): CertificateRecord[] {
    return (
      this.db.prepare('SELECT * FROM certificates WHERE status = ?').all(status) as CertificateRow[]
    ).map(fromRow);
  }

  /** Revoked certificates that have not expired yet: the CRL's entries. */
  listRevokedUnexpired(at: number): CertificateRecord[] {
    return (
      this.db
        .prepare("SELECT * FROM certificates WHERE status = 'revoked' AND not_after > ? ORDER BY revoked_at")
        .all(at) as CertificateRow[]
    ).map(fromRow);
  }

  /**
   * The entries of one CA's CRL: revoked, unexpired certificates signed by the issuing CA with
   * `issuerSerial` (`untagged`: also those made before the first rotation), or with `'ca'` the
   * revoked CA certificates (the root's CRL).
   */
  listRevokedUnexpiredBy(
    at: number,
    issuer: { issuerSerial: string; untagged: boolean } | 'ca',
  ): CertificateRecord[] {
    const rows =
      issuer === 'ca'
        ? this.db
            .prepare(
              "SELECT * FROM certificates WHERE status = 'revoked' AND not_after > ? AND purpose = 'ca' ORDER BY revoked_at",
            )
            .all(at)
        : this.db
            .prepare(
              `SELECT * FROM certificates WHERE status = 'revoked' AND not_after > ? AND purpose != 'ca'
               AND (issuer_serial = ? OR (? AND issuer_serial IS NULL)) ORDER BY revoked_at`,
            )
            .all(at, issuer.issuerSerial, issuer.untagged ? 1 : 0);
    return (rows as CertificateRow[]).map(fromRow);
  }

  /** Tags every certificate made before the first issuing CA rotation with its issuer. */
  tagUntaggedIssuer(issuerSerial: string): number {
    return this.db
      .prepare("UPDATE certificates SET issuer_serial = ? WHERE issuer_serial IS NULL AND purpose != 'ca'")
      .run(issuerSerial).changes;
  }

  /** Active devices whose current certificate was not signed by the issuing CA `issuerSerial`. */
  activeDevicesNotOnIssuer(issuerSerial: string): DeviceOnIssuer[] {
    return this.db
      .prepare(
        `SELECT d.id AS deviceId, c.serial AS serial, c.issuer_serial AS issuerSerial, c.not_after AS notAfter
           FROM devices d JOIN certificates c ON c.serial = d.current_serial
           WHERE d.status = 'active' AND (c.issuer_serial IS NULL OR c.issuer_serial != ?)
           ORDER BY d.id`,
      )
      .all(issuerSerial) as DeviceOnIssuer[];
  }

  /** A renewed certificate belongs to the enrollment of the one it renews. */
  setEnrollment(serial: string, enrollmentSerial: string): void {
    this.db
      .prepare('UPDATE certificates SET enrollment_serial = ? WHERE serial = ?')
      .run(enrollmentSerial, serial);
  }

  /** The enrollment (see `enrollmentSerial`) of a certificate: its own serial when it began one. */
  enrollmentOf(serial: string): string {
    const row = this.db.prepare('SELECT enrollment_serial FROM certificates WHERE serial = ?').get(serial) as
      { enrollment_serial: string | null } | undefined;
    return row?.enrollment_serial ?? serial;
  }

  /** Marks an active certificate superseded; it keeps working until `graceUntil`. */
  supersede(serial: string, graceUntil: number): void {
    this.db
      .prepare(
        "UPDATE certificates SET status = 'superseded', superseded_at = ?, grace_until = ? WHERE serial = ? AND status = 'active'",
      )
      .run(this.now(), graceUntil, serial);
  }

  /** Returns false when the certificate was already revoked (or does not exist). */
  revoke(serial: string, reason: RevocationReason): boolean {
    const result = this.db
      .prepare(
        "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE serial = ? AND status != 'revoked'",
      )
      .run(this.now(), reason, serial);
    return result.changes === 1;
  }
}
