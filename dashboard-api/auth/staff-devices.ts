// Staff devices: every browser or app that signs in is one, known by a long-lived random cookie
// (HttpOnly, Secure, SameSite=Strict) set at sign-in, never by fingerprinting. A user sees and
// names their own devices; an admin sees everyone's. Marking a device lost ends each of its
// sessions at once, revokes the passkeys bound to it, and makes its next request answer with
// Clear-Site-Data (remote-sign-out.ts). "Sign out everywhere" ends every session of a user.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../core/audit.js';
import type { Role } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { SecurityEventRepository } from '../../core/store/security-events.js';
import type { StaffDeviceRecord, StaffDeviceRepository } from '../../core/store/staff-devices.js';
import { hashSessionToken, type SessionService } from './sessions.js';

export const DEVICE_COOKIE = 'vg_device';
/** Browsers cap cookie lifetimes at 400 days. */
const DEVICE_COOKIE_MAX_AGE_S = 400 * 86_400;
/** Last seen is written at most this often per device. */
const TOUCH_EVERY_MS = 60_000;
const DEVICE_COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The passkeys bound to a staff device (the passkey repository); absent: none are bound. */
export interface StaffDevicePasskeys {
  /** Revokes the live passkeys bound to the device; answers those it revoked. */
  revokeForStaffDevice(staffDeviceId: string): readonly unknown[];
}

export interface StaffDeviceDeps {
  devices: StaffDeviceRepository;
  sessions: SessionService;
  audit: AuditLog;
  securityEvents: SecurityEventRepository;
  passkeys?: StaffDevicePasskeys | undefined;
  now: () => number;
}

/** Who acts: the owner of the devices, or an admin (users.manage). */
export interface StaffDeviceActor {
  username: string;
  role: Role;
  /** How the audit log names the actor; default `user:<username>` (the CLI: `cli:<os user>`). */
  auditActor?: string;
}

/** The audit log's name for an actor. */
function actorName(actor: StaffDeviceActor): string {
  return actor.auditActor ?? `user:${actor.username}`;
}

export interface StaffDeviceView {
  id: string;
  username: string;
  name: string;
  userAgentName: string;
  firstSeenAt: string;
  lastSeenAt: string;
  lastAddress: string | null;
  /** The device this request comes from. */
  current: boolean;
  lost: { at: string; by: string; reason: string; wiped: boolean } | null;
  sessions: { startedAt: string; lastSeenAt: string; expiresAt: string; source: string | null }[];
}

function cookieHash(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** "Chrome on Android", "Safari on iPhone", "Firefox on Windows": a name a user recognises. */
export function userAgentName(userAgent: string | undefined): string {
  const ua = userAgent ?? '';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /(Chrome|Chromium|CriOS)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : undefined;
  const system = /iPhone/.test(ua)
    ? 'iPhone'
    : /iPad/.test(ua)
      ? 'iPad'
      : /Android/.test(ua)
        ? 'Android'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'Mac'
            : /CrOS/.test(ua)
              ? 'ChromeOS'
              : /Linux/.test(ua)
                ? 'Linux'
                : undefined;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? 'Unknown browser or app';
}

export class StaffDeviceService {
  constructor(private readonly deps: StaffDeviceDeps) {}

  /** The device a request's cookie names, if any (lost ones too). */
  fromRequest(request: FastifyRequest): StaffDeviceRecord | undefined {
    const value = request.cookies?.[DEVICE_COOKIE];
    if (!value || !DEVICE_COOKIE_PATTERN.test(value)) return undefined;
    return this.deps.devices.byCookieHash(cookieHash(value));
  }

  /**
   * At sign-in: the user's device this browser already is (its cookie), or a new one with a new
   * cookie; the new session is bound to it. A cookie of another user's device (a shared
   * workstation) or of a lost device is replaced, never reused.
   */
  bindSession(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    username: string,
  ): StaffDeviceRecord {
    const at = this.deps.now();
    let device = this.fromRequest(request);
    if (!device || device.username !== username || device.lostAt !== null) {
      const value = randomBytes(32).toString('base64url');
      const id = `sdv_${randomBytes(12).toString('base64url')}`;
      const name = userAgentName(request.headers['user-agent']);
      this.deps.devices.add({ id, cookieHash: cookieHash(value), username, name, at, address: request.ip });
      void reply.setCookie(DEVICE_COOKIE, value, {
        httpOnly: true,
        secure: true,
        sameSite: 'strict',
        path: '/',
        maxAge: DEVICE_COOKIE_MAX_AGE_S,
      });
      this.record(`user:${username}`, 'staff_device.add', `staff_device:${id}`, request.ip, { name });
      device = this.deps.devices.get(id)!;
    } else {
      this.deps.devices.touch(device.id, at, request.ip, 0);
    }
    this.deps.devices.bindSession(hashSessionToken(token), device.id);
    return device;
  }

  /** Counts a signed-in request as the device being seen (at most once a minute). */
  seen(device: StaffDeviceRecord, address: string | undefined): void {
    this.deps.devices.touch(device.id, this.deps.now(), address ?? null, TOUCH_EVERY_MS);
  }

  /** One user's devices (`username`), or everyone's (admins only: undefined). */
  list(actor: StaffDeviceActor, username: string | undefined, currentId?: string): StaffDeviceView[] {
    if (actor.role !== 'admin' && username !== actor.username) {
      throw new VitalGateError('FORBIDDEN', 'only an administrator sees the devices of other users');
    }
    return this.deps.devices.list(username).map((d) => this.view(d, currentId));
  }

  view(d: StaffDeviceRecord, currentId?: string): StaffDeviceView {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      id: d.id,
      username: d.username,
      name: d.name,
      userAgentName: d.userAgentName,
      firstSeenAt: iso(d.firstSeenAt),
      lastSeenAt: iso(d.lastSeenAt),
      lastAddress: d.lastAddress,
      current: d.id === currentId,
      lost:
        d.lostAt === null
          ? null
          : { at: iso(d.lostAt), by: d.lostBy ?? '', reason: d.lostReason ?? '', wiped: d.wipedAt !== null },
      sessions: this.deps.devices.liveSessions(d.id, this.deps.now()).map((s) => ({
        startedAt: iso(s.createdAt),
        lastSeenAt: iso(s.lastSeenAt),
        expiresAt: iso(s.expiresAt),
        source: s.source,
      })),
    };
  }

  rename(actor: StaffDeviceActor, id: string, name: string, source: string | undefined): StaffDeviceView {
    const device = this.owned(actor, id, 'staff_device.rename', source, { ownerOnly: true });
    this.deps.devices.rename(id, name);
    this.record(actorName(actor), 'staff_device.rename', `staff_device:${id}`, source);
    return this.view({ ...device, name });
  }

  /**
   * Marks a device lost: its sessions end at once, the passkeys bound to it are revoked, and its
   * next request clears the browser's data for this site. Marking a lost device again changes nothing.
   */
  markLost(actor: StaffDeviceActor, id: string, reason: string, source: string | undefined) {
    const device = this.owned(actor, id, 'staff_device.lost', source, { ownerOnly: false });
    const at = this.deps.now();
    const changed = this.deps.devices.markLost(id, at, actor.username, reason);
    const ended = this.endSessions(id, 'device_lost', actorName(actor), source);
    const passkeysRevoked = this.deps.passkeys?.revokeForStaffDevice(id).length ?? 0;
    if (changed) {
      this.record(actorName(actor), 'staff_device.lost', `staff_device:${id}`, source, {
        owner: device.username,
        reason,
        sessionsEnded: ended,
        passkeysRevoked,
      });
      this.deps.securityEvents.add({
        kind: 'staff_device_lost',
        severity: 'medium',
        username: device.username,
        source: source ?? null,
        details: { device: id, by: actor.username, sessionsEnded: ended, passkeysRevoked },
      });
    }
    return { device: this.view(this.deps.devices.get(id)!), sessionsEnded: ended, passkeysRevoked };
  }

  /**
   * Ends every session of a user on every device. An admin acting on a user who leaves may also
   * mark each of the user's devices lost, so each wipes the console's data on its next request.
   */
  signOutEverywhere(
    actor: StaffDeviceActor,
    username: string,
    options: { markDevicesLost: boolean; reason: string },
    source: string | undefined,
  ): { sessionsEnded: number; devicesMarkedLost: number } {
    let devicesMarkedLost = 0;
    let sessionsEnded = 0;
    if (options.markDevicesLost) {
      for (const d of this.deps.devices.list(username)) {
        if (d.lostAt !== null) continue;
        sessionsEnded += this.markLost(actor, d.id, options.reason, source).sessionsEnded;
        devicesMarkedLost += 1;
      }
    }
    sessionsEnded += this.deps.sessions.endAllOf(username, 'sign_out_everywhere', actorName(actor));
    this.record(actorName(actor), 'auth.sign_out_everywhere', `user:${username}`, source, {
      sessionsEnded,
      devicesMarkedLost,
      reason: options.reason,
    });
    return { sessionsEnded, devicesMarkedLost };
  }

  /** The first answer to a lost device after it was marked: recorded once, audited once. */
  recordWipe(device: StaffDeviceRecord, source: string | undefined): void {
    if (!this.deps.devices.markWiped(device.id, this.deps.now())) return;
    this.deps.audit.append({
      actor: 'system',
      action: 'staff_device.wipe',
      target: `staff_device:${device.id}`,
      outcome: 'success',
      source,
      details: { owner: device.username, clearSiteData: ['cache', 'cookies', 'storage'] },
    });
  }

  private record(
    actor: string,
    action: string,
    target: string,
    source: string | undefined,
    details?: Record<string, unknown>,
  ): void {
    this.deps.audit.append({
      actor,
      action,
      target,
      outcome: 'success',
      source,
      details,
    });
  }

  private endSessions(deviceId: string, reason: string, actor: string, source: string | undefined): number {
    const live = this.deps.devices.liveSessions(deviceId, 0);
    for (const s of live) this.deps.sessions.end(s.tokenHash, reason, actor, source);
    return live.length;
  }

  /** A device the actor may act on: their own, or any for an admin (unless `ownerOnly`). */
  private owned(
    actor: StaffDeviceActor,
    id: string,
    action: string,
    source: string | undefined,
    options: { ownerOnly: boolean },
  ): StaffDeviceRecord {
    const device = this.deps.devices.get(id);
    const allowed =
      device !== undefined &&
      (device.username === actor.username || (!options.ownerOnly && actor.role === 'admin'));
    if (!allowed) {
      this.deps.audit.append({
        actor: actorName(actor),
        action,
        target: /^sdv_[A-Za-z0-9_-]{16}$/.test(id) ? `staff_device:${id}` : undefined,
        outcome: 'denied',
        source,
        details: { code: 'STAFF_DEVICE_NOT_FOUND' },
      });
      // Another user's device is answered like one that does not exist.
      throw new VitalGateError('STAFF_DEVICE_NOT_FOUND', 'there is no such device among yours');
    }
    return device;
  }
}
