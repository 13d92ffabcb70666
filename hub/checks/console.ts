// The web console as a browser gets it from the live hub: served, with a Content-Security-Policy
// that allows scripts from the hub only (no inline script, no eval) and forbids framing, and API
// answers that no browser or proxy may store (they carry PHI).
import { request } from 'node:https';
import { notApplicable, pass, fail, type DeploymentCheck } from './check.js';

function head(
  host: string,
  port: number,
  path: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, ca, servername: 'localhost', timeout: 3_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export const consoleLockedDown: DeploymentCheck = {
  id: 'VG-API-010',
  title: 'The web console is served with a strict Content-Security-Policy',
  severity: 'medium',
  verifies:
    "The console page answers with script-src 'self', no 'unsafe-inline' or 'unsafe-eval', frame-ancestors 'none', and API answers carry Cache-Control: no-store.",
  how: 'Requests / and /api/v1/auth/session from the live API over HTTPS and reads the response headers.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(a)(1) Access control; 164.312(e)(1) Transmission security',
  },
  async run({ live, authority }) {
    if (!live?.api) return notApplicable('the API is not running');
    const { host, port } = live.api;
    const page = await head(host, port, '/', authority.caBundlePem());
    const api = await head(host, port, '/api/v1/auth/session', authority.caBundlePem());
    if (page.status !== 200) {
      return fail(
        `the console answers ${page.status}`,
        'Build it (node scripts/build-console.mjs, run by npm test, npm run demo and npm run build) and restart the hub.',
      );
    }
    const csp = String(page.headers['content-security-policy'] ?? '');
    const problems = [
      ...(csp.includes("script-src 'self'") ? [] : ["no script-src 'self'"]),
      ...(/unsafe-(inline|eval)/.test(csp) ? ['unsafe-inline or unsafe-eval allowed'] : []),
      ...(csp.includes("frame-ancestors 'none'") ? [] : ["no frame-ancestors 'none'"]),
      ...(api.headers['cache-control'] === 'no-store' ? [] : ['API answers may be cached']),
    ];
    return problems.length
      ? fail(problems.join('; '), 'Serve the console through dashboard-api/console.ts, which sets both.')
      : pass(`console CSP: ${csp.split(';').length} directives, strict; API answers: no-store`);
  },
};
