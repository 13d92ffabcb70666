// Deployment check VG-NET-009 on a real control plane: the default limits pass, a per-source cap
// that ten sources could fill the connection cap with fails, a long deadline warns, and a source
// whose unfinished handshakes were cut again and again is named. (The listener itself is tested
// with raw sockets in test/integration/broker/handshake-abuse.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handshakesBounded } from '../../../hub/checks/handshakes.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki?.cleanup());

const run = (config: Partial<TestPki['config']> = {}) =>
  handshakesBounded.run(checkContext(pki, { config: { ...pki.config, ...config } }));

describe('VG-NET-009', () => {
  it('passes on the defaults, fails when ten sources fill the cap, warns on a long deadline', async () => {
    expect(await run()).toMatchObject({ status: 'pass' });
    const filled = await run({ maxConnections: 100, pendingHandshakesPerSource: 11 });
    expect(filled).toMatchObject({ status: 'fail' });
    expect(filled.remediation).toContain('VITALGATE_PENDING_HANDSHAKES_PER_SOURCE to 10');
    expect(await run({ tlsHandshakeTimeoutSeconds: 60 })).toMatchObject({ status: 'warn' });
  });

  it('names a source whose handshakes were cut again and again', async () => {
    for (let i = 0; i < 20; i++) {
      pki.store.securityEvents.add({
        kind: 'connection_refused',
        severity: 'medium',
        source: '198.51.100.7',
        details: { code: i % 2 ? 'HANDSHAKE_TIMEOUT' : 'PENDING_HANDSHAKES_LIMITED' },
      });
    }
    pki.store.securityEvents.add({
      kind: 'connection_refused',
      severity: 'medium',
      source: '198.51.100.8',
      details: { code: 'HANDSHAKE_TIMEOUT' },
    });
    const outcome = await run();
    expect(outcome.status).toBe('warn');
    expect(outcome.evidence).toBe(
      'sources that kept TLS handshakes open in the last 24 hours: 198.51.100.7 (20)',
    );
  });
});
