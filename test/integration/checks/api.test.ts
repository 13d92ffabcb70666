import { once } from 'node:events';
import { createServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_PERMISSIONS } from '../../../dashboard-api/access/policy.js';
import * as api from '../../../hub/checks/api.js';
import { liveHubInProcess } from '../../../hub/checks/live.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

describe('API checks', () => {
  it('VG-API-006 fails when a non-clinical role gains phi.read', async () => {
    expect((await api.adminWithoutPhi.run(checkContext(pki))).status).toBe('pass');
    const admin = ROLE_PERMISSIONS.admin as string[];
    admin.push('phi.read');
    try {
      expect(await api.adminWithoutPhi.run(checkContext(pki))).toMatchObject({
        status: 'fail',
        evidence: 'roles with PHI access: admin',
      });
    } finally {
      admin.pop();
    }
  });

  it('VG-API-007 fails against an HTTPS server without security headers', async () => {
    const bare = createServer(pki.authority.serverTls(), (_req, res) => res.end('ok'));
    bare.listen(0, '127.0.0.1');
    await once(bare, 'listening');
    const port = (bare.address() as { port: number }).port;
    try {
      const live = liveHubInProcess(pki.config, { mqttPort: 1, apiPort: port }, () => []);
      const outcome = await api.securityHeaders.run(checkContext(pki, { live }));
      expect(outcome).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining('strict-transport-security'),
      });
      expect((await api.securityHeaders.run(checkContext(pki))).status).toBe('not_applicable');
    } finally {
      bare.close();
    }
  });
});
