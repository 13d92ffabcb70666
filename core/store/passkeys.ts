// Passkeys (WebAuthn credentials) of staff accounts: the credential id and COSE public key the
// authenticator gave at registration, its signature counter, and a name the user chose. A user
// may hold several. A passkey ends by removal (its owner or an admin), by its staff device being
// marked lost (`revokeForStaffDevice`), or is flagged when its counter goes backwards (a cloned
// authenticator): flagged and revoked passkeys never sign anyone in again.
import type { Db } from './database.js';

export interface PasskeyRecord {
  id: string;
  username: string;
  /** base64url of the WebAuthn credential id. */
  credentialId: string;
  publicKey: Buffer;
  signCount: number;
  transports: string[];
  /** 'singleDevice' or 'multiDevice' (synced). */
  deviceType: string;
  backedUp: boolean;
  aaguid: string;
  name: string;
  /** The staff device the passkey was registered from, when the session knew it. */
  staffDeviceId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  flaggedAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
}

interface PasskeyRow {
  id: string;
  username: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: number;
  transports: string;
  device_type: string;
  backed_up: number;
  aaguid: string;
  name: string;
  staff_device_id: string | null;
  created_at: number;
  last_used_at: number | null;
  flagged_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
}

function fromRow(r: PasskeyRow): PasskeyRecord {
  return {
    id: r.id,
    username: r.username,
    credentialId: r.credential_id,
    publicKey: r.public_key,
    signCount: r.sign_count,
    transports: r.transports ? r.transports.split(',') : [],
    deviceType: r.device_type,
    backedUp: r.backed_up === 1,
    aaguid: r.aaguid,
    name: r.name,
    staffDeviceId: r.staff_device_id,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    flaggedAt: r.flagged_at,
    revokedAt: r.revoked_at,
    revokeReason: r.revoke_reason,
  };
}

export type NewPasskey = Omit<PasskeyRecord, 'lastUsedAt' | 'flaggedAt' | 'revokedAt' | 'revokeReason'>;

export class PasskeyRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(p: NewPasskey): void {
    this.db
      .prepare(
        `INSERT INTO passkeys (id, username, credential_id, public_key, sign_count, transports, device_type,
           backed_up, aaguid, name, staff_device_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.id,
        p.username,
        p.credentialId,
        p.publicKey,
        p.signCount,
        p.transports.join(','),
        p.deviceType,
        p.backedUp ? 1 : 0,
        p.aaguid,
        p.name,
        p.staffDeviceId,
        p.createdAt,
      );
  }

  get(id: string): PasskeyRecord | undefined {
    const row = this.db.prepare('SELECT * FROM passkeys WHERE id = ?').get(id) as PasskeyRow | undefined;
    return row && fromRow(row);
  }

  byCredentialId(credentialId: string): PasskeyRecord | undefined {
    const row = this.db.prepare('SELECT * FROM passkeys WHERE credential_id = ?').get(credentialId) as
      PasskeyRow | undefined;
    return row && fromRow(row);
  }

  /** A user's passkeys that can still sign in (not revoked, not flagged), oldest first. */
  activeOf(username: string): PasskeyRecord[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM passkeys WHERE username = ? AND revoked_at IS NULL AND flagged_at IS NULL ORDER BY created_at, id',
        )
        .all(username) as PasskeyRow[]
    ).map(fromRow);
  }

  /** A user's passkeys that are not revoked (flagged ones included, so the user sees them). */
  listOf(username: string): PasskeyRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM passkeys WHERE username = ? AND revoked_at IS NULL ORDER BY created_at, id')
        .all(username) as PasskeyRow[]
    ).map(fromRow);
  }

  /** Users holding at least one usable passkey. */
  usersWithActive(): Set<string> {
    const rows = this.db
      .prepare('SELECT DISTINCT username FROM passkeys WHERE revoked_at IS NULL AND flagged_at IS NULL')
      .all() as { username: string }[];
    return new Set(rows.map((r) => r.username));
  }

  rename(id: string, name: string): boolean {
    return (
      this.db.prepare('UPDATE passkeys SET name = ? WHERE id = ? AND revoked_at IS NULL').run(name, id)
        .changes === 1
    );
  }

  /** Records a verified use: the new counter (only ever forward) and the time. */
  recordUse(id: string, signCount: number, at: number): boolean {
    return (
      this.db
        .prepare(
          'UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND revoked_at IS NULL AND flagged_at IS NULL AND sign_count <= ?',
        )
        .run(signCount, at, id, signCount).changes === 1
    );
  }

  /** Marks a passkey whose counter went backwards; it signs no one in from then on. */
  flag(id: string, at: number = this.now()): boolean {
    return (
      this.db.prepare('UPDATE passkeys SET flagged_at = ? WHERE id = ? AND flagged_at IS NULL').run(at, id)
        .changes === 1
    );
  }

  revoke(id: string, reason: string, at: number = this.now()): boolean {
    return (
      this.db
        .prepare('UPDATE passkeys SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL')
        .run(at, reason, id).changes === 1
    );
  }

  /**
   * Revokes every live passkey registered from a staff device (marked lost, wiped); returns the
   * passkeys it revoked so the caller can audit them. Revoking twice revokes nothing more.
   */
  revokeForStaffDevice(
    staffDeviceId: string,
    reason = 'staff_device_lost',
    at: number = this.now(),
  ): PasskeyRecord[] {
    return this.db.transaction(() => {
      const live = (
        this.db
          .prepare('SELECT * FROM passkeys WHERE staff_device_id = ? AND revoked_at IS NULL')
          .all(staffDeviceId) as PasskeyRow[]
      ).map(fromRow);
      this.db
        .prepare(
          'UPDATE passkeys SET revoked_at = ?, revoke_reason = ? WHERE staff_device_id = ? AND revoked_at IS NULL',
        )
        .run(at, reason, staffDeviceId);
      return live;
    })();
  }

  /** Revokes every passkey of a user (account reset, leaver); returns how many. */
  revokeAllOf(username: string, reason: string, at: number = this.now()): number {
    return this.db
      .prepare(
        'UPDATE passkeys SET revoked_at = ?, revoke_reason = ? WHERE username = ? AND revoked_at IS NULL',
      )
      .run(at, reason, username).changes;
  }
}
