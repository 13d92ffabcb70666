// The staff-side settings: role policies (`role:mode`), geofence sites and trusted proxies parse
// from env vars; a bad value stops the hub with one line naming the setting.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';

const load = (env: Record<string, string>) =>
  loadConfig({ env: { VITALGATE_DATA_DIR: '/tmp/vg-unused', ...env } });

function refusal(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('staff access settings', () => {
  it('parses role policies, sites and proxies, with safe defaults', () => {
    const defaults = load({});
    expect(defaults).toMatchObject({
      adaptiveAccess: {},
      geofence: {},
      geofenceSites: [],
      trustedProxies: [],
    });
    const c = load({
      VITALGATE_ADAPTIVE_ACCESS: 'clinician:step-up, auditor:deny',
      VITALGATE_GEOFENCE: 'clinician:deny',
      VITALGATE_GEOFENCE_SITES: 'main@52.3600,4.8900,250; annex @ 52.37,4.9,150',
      VITALGATE_TRUSTED_PROXIES: '10.0.4.10/32',
    });
    expect(c.adaptiveAccess).toEqual({ clinician: 'step-up', auditor: 'deny' });
    expect(c.geofence).toEqual({ clinician: 'deny' });
    expect(c.geofenceSites).toEqual([
      { name: 'main', lat: 52.36, lon: 4.89, radiusM: 250 },
      { name: 'annex', lat: 52.37, lon: 4.9, radiusM: 150 },
    ]);
    expect(c.trustedProxies).toEqual(['10.0.4.10/32']);
  });

  it('names the setting of a bad value in one line', () => {
    expect(refusal({ VITALGATE_ADAPTIVE_ACCESS: 'clinician:sometimes' })).toBe(
      'config: VITALGATE_ADAPTIVE_ACCESS: expected role:mode pairs with modes observe, step-up or deny (got "clinician:sometimes")',
    );
    expect(refusal({ VITALGATE_GEOFENCE: 'nurse:deny' })).toMatch(
      /^config: VITALGATE_GEOFENCE: nurse is not a role/,
    );
    expect(refusal({ VITALGATE_GEOFENCE_SITES: 'main@52.36,4.89' })).toMatch(
      /^config: VITALGATE_GEOFENCE_SITES: expected sites like main@52\.3600,4\.8900,250/,
    );
    expect(refusal({ VITALGATE_GEOFENCE_SITES: 'main@95,4.89,250' })).toMatch(
      /^config: VITALGATE_GEOFENCE_SITES: /,
    );
    expect(refusal({ VITALGATE_TRUSTED_PROXIES: 'the load balancer' })).toMatch(
      /^config: VITALGATE_TRUSTED_PROXIES: expected CIDR blocks/,
    );
    expect(refusal({ VITALGATE_STAFF_DEVICE_STALE_DAYS: '0' })).toMatch(
      /^config: VITALGATE_STAFF_DEVICE_STALE_DAYS: /,
    );
  });
});
