// API checks: the role table keeps PHI away from admins (and every other non-clinical role),
// and the live API sends the security headers a browser needs.
import { request } from 'node:https';
import { ROLE_PERMISSIONS } from '../../dashboard-api/access/policy.js';
import { fail, notApplicable, pass, type DeploymentCheck } from './check.js';

const INTERFACE = 'Interface/central station security';

export const adminWithoutPhi: DeploymentCheck = {
  id: 'VG-API-006',
  title: 'Only clinicians may read PHI',
  severity: 'high',
  verifies:
    'The admin, engineer and auditor roles carry no PHI permission (break-glass is for clinicians only).',
  how: 'Reads the role table the API enforces.',
  references: { owasp: INTERFACE, hipaa: '164.312(a)(1) Access control' },
  run() {
    const withPhi = (Object.keys(ROLE_PERMISSIONS) as (keyof typeof ROLE_PERMISSIONS)[]).filter(
      (role) => role !== 'clinician' && ROLE_PERMISSIONS[role].includes('phi.read'),
    );
    return withPhi.length
      ? fail(
          `roles with PHI access: ${withPhi.join(', ')}`,
          'Remove phi.read from these roles in dashboard-api/access/policy.ts.',
        )
      : pass('phi.read is granted to the clinician role only');
  },
};

const REQUIRED_HEADERS = [
  'strict-transport-security',
  'x-content-type-options',
  'content-security-policy',
  'x-frame-options',
];

export const securityHeaders: DeploymentCheck = {
  id: 'VG-API-007',
  title: 'The API sends security headers',
  severity: 'medium',
  verifies: 'HSTS, nosniff, a content security policy and frame protection are on every response.',
  how: 'Requests /healthz from the live API over HTTPS and reads the response headers.',
  references: { owasp: INTERFACE, hipaa: '164.312(e)(1) Transmission security' },
  async run({ live, authority }) {
    if (!live?.api) return notApplicable('the API is not running');
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(
        {
          host: live.api!.host,
          port: live.api!.port,
          path: '/healthz',
          ca: authority.caBundlePem(),
          servername: 'localhost',
          timeout: 3_000,
        },
        (res) => {
          res.resume();
          resolve(res.headers);
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    const missing = REQUIRED_HEADERS.filter((h) => headers[h] === undefined);
    return missing.length
      ? fail(`missing headers: ${missing.join(', ')}`, 'Enable @fastify/helmet on every route.')
      : pass(`${REQUIRED_HEADERS.join(', ')} present`);
  },
};

export const API_CHECKS: DeploymentCheck[] = [adminWithoutPhi, securityHeaders];
