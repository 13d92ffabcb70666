// The login throttle: failures count per presented username AND source network, never per
// account alone, so an attacker from one network cannot lock the owner out from another. Below
// `VITALGATE_LOCKOUT_THRESHOLD` failures nothing is blocked; from there each further failure
// doubles the time that username is refused from that network (`VITALGATE_LOCKOUT_MINUTES`,
// up to 64×). The owner can always get in with both factors (`POST /auth/unlock`), so no
// account — an admin's included — is ever locked out by the network alone.
import { isIP } from 'node:net';
import type { HubConfig } from '../../core/config.js';
import type { LoginThrottleRepository, ThrottleEntry } from '../../core/store/login-throttle.js';

/** The block doubles per failure past the threshold, up to 2^6 times the configured minutes. */
const MAX_BACKOFF_DOUBLINGS = 6;
/** Failures older than this are forgotten (a row restarts from one). */
export const THROTTLE_MEMORY_MS = 24 * 3_600_000;

/**
 * The network a request comes from: an IPv4 address as it is (IPv4-mapped IPv6 included), an
 * IPv6 address as its /64 (one host holds a whole /64), anything unreadable as `unknown`.
 */
export function sourceNetwork(address: string | undefined): string {
  if (!address) return 'unknown';
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  if (family === 4) return plain;
  if (family !== 6) return 'unknown';
  return `${expandIpv6(plain).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return groups.map((g) => (g.includes('.') ? g : g.toLowerCase().replace(/^0+(?=.)/, '')));
}

export interface ThrottleVerdict {
  blocked: boolean;
  retryAfterSeconds: number;
}

export class LoginThrottle {
  constructor(
    private readonly repo: LoginThrottleRepository,
    private readonly config: Pick<HubConfig, 'lockoutThreshold' | 'lockoutMinutes'>,
    private readonly now: () => number,
  ) {}

  /** Whether this username is refused from this address now. */
  verdict(username: string, address: string | undefined): ThrottleVerdict {
    const entry = this.repo.get(username, sourceNetwork(address));
    const at = this.now();
    if (!entry?.blockedUntil || entry.blockedUntil <= at) return { blocked: false, retryAfterSeconds: 0 };
    return { blocked: true, retryAfterSeconds: Math.ceil((entry.blockedUntil - at) / 1000) };
  }

  /** Counts a failure; `newlyBlocked` when this failure started (or extended) a block. */
  fail(username: string, address: string | undefined): ThrottleEntry & { newlyBlocked: boolean } {
    const { lockoutThreshold, lockoutMinutes } = this.config;
    const at = this.now();
    this.repo.prune(at - THROTTLE_MEMORY_MS);
    const entry = this.repo.recordFailure(
      username,
      sourceNetwork(address),
      at,
      at - THROTTLE_MEMORY_MS,
      (failures) =>
        failures < lockoutThreshold
          ? null
          : at + lockoutMinutes * 60_000 * 2 ** Math.min(failures - lockoutThreshold, MAX_BACKOFF_DOUBLINGS),
    );
    return { ...entry, newlyBlocked: entry.blockedUntil !== null };
  }

  /** Forgets this address's failures for the username (a successful sign-in, an unlock). */
  clear(username: string, address: string | undefined): void {
    this.repo.clear(username, sourceNetwork(address));
  }
}
