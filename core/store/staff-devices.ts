// Staff devices: each browser or app a staff member signs in from, known by a long-lived random
// cookie that the store keeps only as a SHA-256 (a stolen database names no usable cookie), with
// the API sessions it holds (api_sessions.staff_device_id). Marking one lost is a row update here;
// ending its sessions and revoking its passkeys is the API's StaffDeviceService.
import type { Db } from './database.js';

export interface StaffDeviceRecord {
  id: string;
  username: string;
  name: string;
  /** What the user agent says it is ("Chrome on Android"), kept when the user renames it. */
  userAgentName: string;
  firstSeenAt: number;
  lastSeenAt: number;
  lastAddress: string | null;
  lostAt: number | null;
  lostBy: string | null;
  lostReason: string | null;
  /** When the device was last answered with Clear-Site-Data after it was marked lost. */
  wipedAt: number | null;
}

export interface StaffDeviceSession {
  tokenHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  source: string | null;
}

interface DeviceRow {
  id: string;
  username: string;
  name: string;
  user_agent_name: string;
  first_seen_at: number;
  last_seen_at: number;
  last_address: string | null;
  lost_at: number | null;
  lost_by: string | null;
  lost_reason: string | null;
  wiped_at: number | null;
}

function fromRow(r: DeviceRow): StaffDeviceRecord {
  return {
    id: r.id,
    username: r.username,
    name: r.name,
    userAgentName: r.user_agent_name,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    lastAddress: r.last_address,
    lostAt: r.lost_at,
    lostBy: r.lost_by,
    lostReason: r.lost_reason,
    wipedAt: r.wiped_at,
  };
}

const COLUMNS =
  'id, username, name, user_agent_name, first_seen_at, last_seen_at, last_address, lost_at, lost_by, lost_reason, wiped_at';

export class StaffDeviceRepository {
  private readonly byCookie;
  private readonly touchStatement;

  constructor(private readonly db: Db) {
    this.byCookie = db.prepare(`SELECT ${COLUMNS} FROM staff_devices WHERE cookie_hash = ?`);
    this.touchStatement = db.prepare(
      'UPDATE staff_devices SET last_seen_at = ?, last_address = ? WHERE id = ? AND last_seen_at < ?',
    );
  }

  add(record: {
    id: string;
    cookieHash: string;
    username: string;
    name: string;
    at: number;
    address: string | null;
  }): void {
    this.db
      .prepare(
        'INSERT INTO staff_devices (id, cookie_hash, username, name, user_agent_name, first_seen_at, last_seen_at, last_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.id,
        record.cookieHash,
        record.username,
        record.name,
        record.name,
        record.at,
        record.at,
        record.address,
      );
  }

  byCookieHash(cookieHash: string): StaffDeviceRecord | undefined {
    const row = this.byCookie.get(cookieHash) as DeviceRow | undefined;
    return row && fromRow(row);
  }

  get(id: string): StaffDeviceRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM staff_devices WHERE id = ?`).get(id) as
      DeviceRow | undefined;
    return row && fromRow(row);
  }

  /** One user's devices, or everyone's; most recently seen first. */
  list(username?: string): StaffDeviceRecord[] {
    const rows = (
      username
        ? this.db
            .prepare(`SELECT ${COLUMNS} FROM staff_devices WHERE username = ? ORDER BY last_seen_at DESC`)
            .all(username)
        : this.db.prepare(`SELECT ${COLUMNS} FROM staff_devices ORDER BY username, last_seen_at DESC`).all()
    ) as DeviceRow[];
    return rows.map(fromRow);
  }

  /** Last seen and last address, written at most once per `everyMs`. */
  touch(id: string, at: number, address: string | null, everyMs: number): void {
    this.touchStatement.run(at, address, id, at - everyMs);
  }

  rename(id: string, name: string): boolean {
    return this.db.prepare('UPDATE staff_devices SET name = ? WHERE id = ?').run(name, id).changes === 1;
  }

  /** Marks a device lost; false when it was lost already. */
  markLost(id: string, at: number, by: string, reason: string): boolean {
    return (
      this.db
        .prepare(
          'UPDATE staff_devices SET lost_at = ?, lost_by = ?, lost_reason = ? WHERE id = ? AND lost_at IS NULL',
        )
        .run(at, by, reason, id).changes === 1
    );
  }

  /** Records that the device was answered with Clear-Site-Data; true the first time. */
  markWiped(id: string, at: number): boolean {
    return (
      this.db.prepare('UPDATE staff_devices SET wiped_at = ? WHERE id = ? AND wiped_at IS NULL').run(at, id)
        .changes === 1
    );
  }

  /** Ties an API session to the device it was opened on. */
  bindSession(tokenHash: string, deviceId: string): void {
    this.db
      .prepare('UPDATE api_sessions SET staff_device_id = ? WHERE token_hash = ?')
      .run(deviceId, tokenHash);
  }

  /** The live (not ended, not expired) sessions of a device, oldest first. */
  liveSessions(deviceId: string, at: number): StaffDeviceSession[] {
    return (
      this.db
        .prepare(
          'SELECT token_hash, created_at, last_seen_at, expires_at, source FROM api_sessions WHERE staff_device_id = ? AND ended_at IS NULL AND expires_at > ? ORDER BY created_at',
        )
        .all(deviceId, at) as {
        token_hash: string;
        created_at: number;
        last_seen_at: number;
        expires_at: number;
        source: string | null;
      }[]
    ).map((r) => ({
      tokenHash: r.token_hash,
      createdAt: r.created_at,
      lastSeenAt: r.last_seen_at,
      expiresAt: r.expires_at,
      source: r.source,
    }));
  }

  /** Devices with live sessions whose device was not seen since `before`, or that are lost. */
  withLiveSessions(at: number): (StaffDeviceRecord & { liveSessions: number })[] {
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS.split(', ')
          .map((c) => `d.${c}`)
          .join(', ')}, COUNT(s.token_hash) AS live
         FROM staff_devices d JOIN api_sessions s ON s.staff_device_id = d.id
         WHERE s.ended_at IS NULL AND s.expires_at > ?
         GROUP BY d.id ORDER BY d.username, d.id`,
      )
      .all(at) as (DeviceRow & { live: number })[];
    return rows.map((r) => ({ ...fromRow(r), liveSessions: r.live }));
  }
}
