// Adaptive access: the staff-access monitor's signals turned into decisions before PHI is served.
// A PHI read (or a sign-in) from a network this user has not read PHI from in the last
// `adaptiveHistoryDays`, or at an hour of day they have not worked, and, where the role has a
// geofence, a read with no position or one outside every site, is decided by the role's mode:
// `observe` serves it and audits the signal, `step-up` serves it only once the session gave a
// fresh second factor after the signal first appeared, `deny` refuses it. Every decision is
// audited (`access.adaptive`) with its signals. A user with no history has nothing unusual yet.
import { isIP } from 'node:net';
import type { AuditLog } from '../../core/audit.js';
import type { AccessMode, HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { PhiReadHistory } from '../../core/store/phi-read-history.js';
import { requireStepUp } from '../auth/step-up.js';
import type { Principal } from '../auth/sessions.js';
import { parsePosition, siteContaining } from './geofence.js';

export type AdaptiveSignal = 'new_network' | 'unusual_hours' | 'no_position' | 'outside_sites';

const MODE_RANK: Record<AccessMode, number> = { observe: 0, 'step-up': 1, deny: 2 };
/** A user's learned networks and hours are read again from the audit chain after this long. */
const PROFILE_TTL_MS = 60_000;

export interface AdaptiveAccessDeps {
  history: PhiReadHistory;
  audit: AuditLog;
  config: Pick<HubConfig, 'adaptiveAccess' | 'adaptiveHistoryDays' | 'geofence' | 'geofenceSites'>;
  now: () => number;
  /** Hour of day (0-23) of an instant, in the hub's time zone. */
  hourOf: (at: number) => number;
}

interface Profile {
  networks: Set<string>;
  hours: Set<number>;
  loadedAt: number;
}

/** The network of an address as the staff-access monitor counts it: an IPv4 /24, an IPv6 /64. */
export function networkOf(address: string | undefined | null): string | null {
  if (!address) return null;
  const plain = address.replace(/^::ffff:/, '');
  if (isIP(plain) === 4) return `${plain.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIP(plain) === 6) return `${plain.split(':').slice(0, 4).join(':')}::/64`;
  return null;
}

export class AdaptiveAccess {
  private readonly profiles = new Map<string, Profile>();
  /** Per session: when each signal first appeared (a step-up must come after it). */
  private readonly firstSeen = new Map<string, Map<AdaptiveSignal, number>>();

  constructor(private readonly deps: AdaptiveAccessDeps) {}

  /** At sign-in: audits what is unusual about it; a step-up is then needed before PHI. */
  signedIn(
    principal: Pick<Principal, 'username' | 'role' | 'sessionHash'>,
    source: string | undefined,
  ): void {
    const at = this.deps.now();
    const signals = this.usualSignals(principal.username, source, at);
    if (signals.length === 0) return;
    const seen = this.seenOf(principal.sessionHash);
    for (const s of signals) seen.set(s, at);
    this.record(principal.username, 'success', source, {
      at: 'sign_in',
      signals,
      decision: this.deps.config.adaptiveAccess[principal.role] ?? 'observe',
    });
  }

  /** Before PHI is served: refuses (coded, audited) or lets the read go on. */
  admit(
    principal: Principal,
    what: string,
    source: string | undefined,
    positionHeader: string | string[] | undefined,
  ): void {
    const at = this.deps.now();
    const found: { signal: AdaptiveSignal; mode: AccessMode }[] = [];
    const adaptiveMode = this.deps.config.adaptiveAccess[principal.role] ?? 'observe';
    for (const signal of this.usualSignals(principal.username, source, at))
      found.push({ signal, mode: adaptiveMode });
    const geofenceMode = this.deps.config.geofence[principal.role];
    if (geofenceMode) {
      const position = parsePosition(positionHeader);
      if (!position) found.push({ signal: 'no_position', mode: geofenceMode });
      else if (!siteContaining(this.deps.config.geofenceSites, position))
        found.push({ signal: 'outside_sites', mode: geofenceMode });
    }
    if (found.length === 0) return this.learn(principal.username, source, at);

    const signals = found.map((f) => f.signal);
    const decision = found.reduce<AccessMode>(
      (m, f) => (MODE_RANK[f.mode] > MODE_RANK[m] ? f.mode : m),
      'observe',
    );
    const seen = this.seenOf(principal.sessionHash);
    const fresh = signals.filter((s) => !seen.has(s));
    for (const s of fresh) seen.set(s, at);

    if (decision === 'deny') {
      this.record(principal.username, 'denied', source, { what, signals, decision });
      const geofence = found.find(
        (f) => f.mode === 'deny' && (f.signal === 'no_position' || f.signal === 'outside_sites'),
      );
      if (geofence?.signal === 'no_position') {
        throw new VitalGateError(
          'GEOFENCE_POSITION_REQUIRED',
          'patient data opens only on a device that shares its location inside a hospital site; allow location and try again',
          { signals },
        );
      }
      if (geofence) {
        throw new VitalGateError(
          'GEOFENCE_OUTSIDE_SITES',
          'patient data cannot be opened outside the hospital sites',
          {
            signals,
          },
        );
      }
      throw new VitalGateError(
        'ADAPTIVE_ACCESS_DENIED',
        'patient data cannot be opened from a new network or at an unusual hour for your role; ask an administrator',
        { signals },
      );
    }
    if (decision === 'step-up') {
      const stepUpSignals = found.filter((f) => f.mode === 'step-up').map((f) => f.signal);
      const notBefore = Math.max(...stepUpSignals.map((s) => seen.get(s)!));
      const steppedUpAt =
        principal.steppedUpAt !== null && principal.steppedUpAt >= notBefore ? principal.steppedUpAt : null;
      try {
        requireStepUp(
          { steppedUpAt, stepUpMaxAgeSeconds: principal.stepUpMaxAgeSeconds },
          at,
          `adaptive:${stepUpSignals.join('.')}`,
        );
      } catch (err) {
        this.record(principal.username, 'denied', source, { what, signals, decision });
        throw err;
      }
    }
    if (fresh.length > 0 || decision === 'step-up') {
      this.record(principal.username, 'success', source, { what, signals, decision });
    }
    this.learn(principal.username, source, at);
  }

  /** A session that ended needs no memory of its signals. */
  forget(sessionHash: string): void {
    this.firstSeen.delete(sessionHash);
  }

  private usualSignals(username: string, source: string | undefined, at: number): AdaptiveSignal[] {
    const profile = this.profile(username, at);
    if (profile.networks.size === 0 && profile.hours.size === 0) return [];
    const signals: AdaptiveSignal[] = [];
    const network = networkOf(source);
    if (network && profile.networks.size > 0 && !profile.networks.has(network)) signals.push('new_network');
    const hour = this.deps.hourOf(at);
    if (
      profile.hours.size > 0 &&
      ![hour, (hour + 1) % 24, (hour + 23) % 24].some((h) => profile.hours.has(h))
    )
      signals.push('unusual_hours');
    return signals;
  }

  private profile(username: string, at: number): Profile {
    const cached = this.profiles.get(username);
    if (cached && at - cached.loadedAt < PROFILE_TTL_MS && at >= cached.loadedAt) return cached;
    const rows = this.deps.history.of(username, at - this.deps.config.adaptiveHistoryDays * 86_400_000);
    const profile: Profile = { networks: new Set(), hours: new Set(), loadedAt: at };
    for (const row of rows) {
      const network = networkOf(row.source);
      if (network) profile.networks.add(network);
      profile.hours.add(this.deps.hourOf(row.at));
    }
    this.profiles.set(username, profile);
    return profile;
  }

  /** The read is served: its network and hour are usual from now on. */
  private learn(username: string, source: string | undefined, at: number): void {
    const profile = this.profile(username, at);
    const network = networkOf(source);
    if (network) profile.networks.add(network);
    profile.hours.add(this.deps.hourOf(at));
  }

  private seenOf(sessionHash: string): Map<AdaptiveSignal, number> {
    let seen = this.firstSeen.get(sessionHash);
    if (!seen) this.firstSeen.set(sessionHash, (seen = new Map()));
    return seen;
  }

  private record(
    username: string,
    outcome: 'success' | 'denied',
    source: string | undefined,
    details: Record<string, unknown>,
  ): void {
    this.deps.audit.append({
      actor: `user:${username}`,
      action: 'access.adaptive',
      target: `user:${username}`,
      outcome,
      source,
      details,
    });
  }
}
