// Staff devices, adaptive access and the site geofence (docs/SECURITY.md, staff side): no
// forgotten or lost device keeps a live session, PHI roles do not merely observe unusual access,
// the geofence has sites that make sense, and the source address every network rule uses cannot
// be forged through an over-broad trusted proxy list.
import { ROLES } from '../../core/domain.js';
import { StaffDeviceRepository } from '../../core/store/staff-devices.js';
import { roleMay } from '../../dashboard-api/access/policy.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const PHI_ROLES = ROLES.filter((r) => roleMay(r, 'phi.read'));
/** A site wider than this is a city, not a hospital campus. */
export const SITE_RADIUS_PLAUSIBLE_M = 5_000;

const references = {
  owasp: 'Interface/central station security',
  hipaa: '164.312(a)(1) Access control',
} as const;

export const staleStaffDevices: DeploymentCheck = {
  id: 'VG-STAFF-004',
  title: 'No staff device unseen for long still holds a session',
  severity: 'medium',
  verifies:
    'No staff device that has not been seen for VITALGATE_STAFF_DEVICE_STALE_DAYS days still holds a live API session.',
  how: 'Joins the staff devices with their live (not ended, not expired) API sessions and compares the device’s last sighting with the setting.',
  references: { ...references, hipaa: '164.312(a)(2)(iii) Automatic logoff' },
  run({ store, config, now }) {
    const before = now - config.staffDeviceStaleDays * 86_400_000;
    const stale = new StaffDeviceRepository(store.db)
      .withLiveSessions(now)
      .filter((d) => d.lostAt === null && d.lastSeenAt < before);
    if (stale.length === 0)
      return pass(`no device unseen for ${config.staffDeviceStaleDays} days holds a live session`);
    return fail(
      `devices unseen for ${config.staffDeviceStaleDays}+ days with live sessions: ${listIds(
        stale.map((d) => `${d.id} (${d.username})`),
      )}`,
      'Ask the users whether they still have these devices; mark the ones nobody has lost (POST /api/v1/staff-devices/{id}/lost), or sign the users out everywhere.',
    );
  },
};

export const lostDevicesSignedOut: DeploymentCheck = {
  id: 'VG-STAFF-005',
  title: 'Lost staff devices hold no live session',
  severity: 'high',
  verifies: 'Every API session of a staff device marked lost has ended.',
  how: 'Lists the live API sessions bound to staff devices whose lost_at is set.',
  references: {
    ...references,
    hipaa: '164.312(a)(1) Access control; 164.312(d) Person or entity authentication',
  },
  run({ store, now }) {
    const lost = new StaffDeviceRepository(store.db).withLiveSessions(now).filter((d) => d.lostAt !== null);
    if (lost.length === 0) return pass('no lost device holds a live session');
    return fail(
      `lost devices with live sessions: ${listIds(lost.map((d) => `${d.id} (${d.username}, ${d.liveSessions})`))}`,
      'Mark each device lost again (it ends the sessions) or sign the user out everywhere, then find out how the sessions outlived the mark (a restore of an older control plane?).',
    );
  },
};

export const adaptiveAccessEnforced: DeploymentCheck = {
  id: 'VG-STAFF-006',
  title: 'Adaptive access does more than observe for roles that read PHI',
  severity: 'medium',
  verifies:
    'Every role that reads PHI has VITALGATE_ADAPTIVE_ACCESS set to step-up or deny, so PHI read from a new network or at an unusual hour needs a fresh second factor.',
  how: 'Reads the adaptiveAccess setting for each role with the phi.read permission (unset means observe).',
  references: { ...references, hipaa: '164.312(d) Person or entity authentication' },
  run({ config }) {
    const observing = PHI_ROLES.filter((r) => (config.adaptiveAccess[r] ?? 'observe') === 'observe');
    if (observing.length === 0)
      return pass(`adaptive access: ${PHI_ROLES.map((r) => `${r}:${config.adaptiveAccess[r]}`).join(', ')}`);
    return warn(
      `adaptive access only observes (audits) for ${observing.join(', ')}: unusual PHI reads are served without a step-up`,
      `Set VITALGATE_ADAPTIVE_ACCESS=${observing.map((r) => `${r}:step-up`).join(',')} once the users can step up (TOTP or a passkey).`,
    );
  },
};

export const geofenceHasSites: DeploymentCheck = {
  id: 'VG-STAFF-007',
  title: 'A geofence in use has sites',
  severity: 'high',
  verifies: 'A role with a geofence (VITALGATE_GEOFENCE) has at least one site in VITALGATE_GEOFENCE_SITES.',
  how: 'Reads the geofence and geofenceSites settings.',
  references,
  run({ config }) {
    const fenced = ROLES.filter((r) => config.geofence[r] !== undefined);
    if (fenced.length === 0) return notApplicable('no role has a geofence');
    if (config.geofenceSites.length > 0)
      return pass(`${fenced.join(', ')} fenced to ${config.geofenceSites.map((s) => s.name).join(', ')}`);
    return fail(
      `${fenced.join(', ')} ${fenced.length === 1 ? 'has' : 'have'} a geofence but no site is configured: every PHI read counts as outside`,
      'Add the hospital sites to VITALGATE_GEOFENCE_SITES (name@latitude,longitude,radius;…) or remove the roles from VITALGATE_GEOFENCE.',
    );
  },
};

/** Shorter prefixes than these trust much of the internet to name the source address. */
function tooBroad(cidr: string): boolean {
  const [address = '', bits = '0'] = cidr.split('/');
  return Number(bits) < (address.includes(':') ? 32 : 16);
}

export const trustedProxiesNarrow: DeploymentCheck = {
  id: 'VG-STAFF-008',
  title: 'Only the reverse proxies are trusted to name the source address',
  severity: 'high',
  verifies:
    'VITALGATE_TRUSTED_PROXIES names only narrow ranges (IPv4 /16 or longer, IPv6 /32 or longer), so a client cannot forge X-Forwarded-For to pass the PHI network policy and adaptive access.',
  how: 'Reads the trustedProxies setting and measures each prefix.',
  references: { ...references, deviceDefender: 'CONFLICTING_CLIENT_IDS_CHECK (identity spoofing)' },
  run({ config }) {
    if (config.trustedProxies.length === 0)
      return notApplicable('no proxy is trusted: the TCP peer is the source');
    const broad = config.trustedProxies.filter(tooBroad);
    if (broad.length === 0) return pass(`trusted proxies: ${listIds(config.trustedProxies)}`);
    return fail(
      `trusted proxy ranges too broad: ${listIds(broad)}; anyone in them can claim any source address`,
      'List only the addresses of your reverse proxies (for example 10.0.4.10/32) in VITALGATE_TRUSTED_PROXIES.',
    );
  },
};

export const geofenceSitesPlausible: DeploymentCheck = {
  id: 'VG-STAFF-009',
  title: 'Geofence sites are hospital-sized and enforced',
  severity: 'low',
  verifies: `Each geofence site has a radius of at most ${SITE_RADIUS_PLAUSIBLE_M} m, and no fenced role only observes.`,
  how: 'Reads geofenceSites and the geofence modes.',
  references,
  run({ config }) {
    const fenced = ROLES.filter((r) => config.geofence[r] !== undefined);
    if (fenced.length === 0) return notApplicable('no role has a geofence');
    const wide = config.geofenceSites.filter((s) => s.radiusM > SITE_RADIUS_PLAUSIBLE_M);
    const observing = fenced.filter((r) => config.geofence[r] === 'observe');
    if (wide.length === 0 && observing.length === 0)
      return pass('geofence sites are hospital-sized and enforced');
    const parts = [
      ...(wide.length
        ? [
            `sites wider than ${SITE_RADIUS_PLAUSIBLE_M} m: ${listIds(wide.map((s) => `${s.name} (${s.radiusM} m)`))}`,
          ]
        : []),
      ...(observing.length ? [`geofence only observes for ${observing.join(', ')}`] : []),
    ];
    return warn(
      parts.join('; '),
      'Give each building or campus its own site with a radius that covers it, and set the fenced roles to step-up or deny.',
    );
  },
};

export const STAFF_DEVICE_CHECKS: readonly DeploymentCheck[] = [
  staleStaffDevices,
  lostDevicesSignedOut,
  adaptiveAccessEnforced,
  geofenceHasSites,
  trustedProxiesNarrow,
  geofenceSitesPlausible,
];
