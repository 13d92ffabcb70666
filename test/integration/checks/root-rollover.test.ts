// VG-PKI-010 against a real hub PKI: a fresh root passes; the same hub a year before its root
// expires warns, naming the date and the rollover to start.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_CHECKS } from '../../../hub/checks/catalogue.js';
import type { CheckContext } from '../../../hub/checks/check.js';
import { rootCaRollover } from '../../../hub/checks/root-rollover.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

const DAY = 86_400_000;
let pki: TestPki;
beforeEach(async () => {
  pki = await createTestPki();
});
afterEach(() => pki.cleanup());

const run = (overrides: Partial<CheckContext> = {}) =>
  Promise.resolve(rootCaRollover.run(checkContext(pki, overrides)));

describe('VG-PKI-010 root CA rollover', () => {
  it('passes while the root has more than a year left', async () => {
    const notAfter = pki.authority.rootCertificate.notAfter;
    expect(notAfter.getTime() - Date.now()).toBeGreaterThan(365 * DAY);
    const outcome = await run();
    expect(outcome.status).toBe('pass');
    expect(outcome.evidence).toContain(notAfter.toISOString());
    expect(ALL_CHECKS).toContain(rootCaRollover);
  });

  it('warns a year before the root expires, and after it did, with the rollover to start', async () => {
    const notAfter = pki.authority.rootCertificate.notAfter.getTime();
    expect((await run({ now: notAfter - 366 * DAY })).status).toBe('pass');
    const yearAhead = await run({ now: notAfter - 364 * DAY });
    expect(yearAhead).toMatchObject({
      status: 'warn',
      evidence: `root CA expires in 364 days (${new Date(notAfter).toISOString()})`,
      remediation: expect.stringContaining('docs/PKI.md'),
    });
    const expired = await run({ now: notAfter + DAY });
    expect(expired).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('root CA expired on'),
    });
  });
});
