// The login throttle over real HTTPS (issue 22, item 3): an unknown name and an account answer
// alike in status, body, headers and time, before and after the throttle blocks them; an
// attacker from one network (127.0.0.2) cannot lock the owner out from another (127.0.0.1); the
// owner gets in with both factors through /auth/unlock even from the attacked network.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSessionRepository } from '../../../core/store/api-sessions.js';
import {
  enrolledUser,
  startTestHub,
  stepUp,
  STRONG_PASSWORD,
  totpCode,
  type HttpResult,
  type TestHub,
} from './harness.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
}, 60_000);
afterAll(async () => hub?.close());

const ATTACKER = '127.0.0.2';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function liveSessions(username: string): number {
  return new ApiSessionRepository(hub.pki.store.db).listLive(hub.clock.now(), username).length;
}

/**
 * What a caller can see of an answer, but its timing: status, header names, body. The seconds
 * to wait are compared apart (the two names were blocked a moment apart).
 */
function visible(res: HttpResult) {
  const body = structuredClone(res.body) as { error: { details?: { retryAfterSeconds?: number } } };
  if (body.error.details?.retryAfterSeconds !== undefined) body.error.details.retryAfterSeconds = 0;
  const headers = Object.keys(res.headers)
    .filter((h) => !['date', 'retry-after', 'x-ratelimit-remaining', 'x-ratelimit-reset'].includes(h))
    .sort();
  return { status: res.status, headers, body };
}

describe('login answers do not tell accounts from unknown names', () => {
  it('status, body and time match, below the threshold and once throttled', async () => {
    await enrolledUser(hub, 'dr.enum', 'clinician');
    // A higher threshold than the default gives more tries on each side of it.
    const threshold = 8;
    const server = await hub.extraServer({ config: { ...hub.deps.config, lockoutThreshold: threshold } });
    const tries = { account: 'dr.enum', unknown: 'dr.nobody' };
    const seen: Record<
      'open' | 'throttled',
      Record<keyof typeof tries, { res: HttpResult; ms: number }[]>
    > = {
      open: { account: [], unknown: [] },
      throttled: { account: [], unknown: [] },
    };
    for (let i = 0; i < threshold * 2; i++) {
      for (const who of Object.keys(tries) as (keyof typeof tries)[]) {
        const started = performance.now();
        const res = await server.client.request('POST', '/api/v1/auth/login', {
          body: { username: tries[who], password: `wrong password ${i}` },
        });
        const ms = performance.now() - started;
        seen[i < threshold ? 'open' : 'throttled'][who].push({ res, ms });
      }
    }
    for (const phase of ['open', 'throttled'] as const) {
      const { account, unknown } = seen[phase];
      const code = phase === 'open' ? 'INVALID_CREDENTIALS' : 'ACCOUNT_LOCKED';
      for (const { res } of [...account, ...unknown]) {
        expect(res.body).toMatchObject({ error: { code } });
      }
      for (let i = 0; i < account.length; i++) {
        expect(visible(account[i]!.res)).toEqual(visible(unknown[i]!.res));
        expect(
          Math.abs(
            Number(account[i]!.res.headers['retry-after'] ?? 0) -
              Number(unknown[i]!.res.headers['retry-after'] ?? 0),
          ),
        ).toBeLessThanOrEqual(5);
      }
      // Timing within noise: the medians of repeated tries, compared by a generous factor (a busy
      // 2-core machine); today's main answered a locked account 15× faster than an unknown name.
      const a = median(account.map((t) => t.ms));
      const u = median(unknown.map((t) => t.ms));
      expect(Math.max(a, u) / Math.min(a, u), `${phase}: account ${a} ms, unknown ${u} ms`).toBeLessThan(2.5);
    }
    // Both were throttled the same way, and both the same way in the audit trail.
    expect(hub.pki.store.loginThrottle.get('dr.enum', '127.0.0.1')).toMatchObject({ failures: threshold });
    expect(hub.pki.store.loginThrottle.get('dr.nobody', '127.0.0.1')).toMatchObject({ failures: threshold });
    expect(liveSessions('dr.enum')).toBe(1); // the enrollment's own session, nothing more
    await server.close();
  });
});

describe('throttle per account and source network', () => {
  it('an attacker from one network cannot lock the owner out from another; both factors unlock', async () => {
    const admin = await enrolledUser(hub, 'adm.only', 'admin');
    const threshold = hub.deps.config.lockoutThreshold;
    const guess = (i: number) =>
      hub.client.request('POST', '/api/v1/auth/login', {
        body: { username: 'adm.only', password: `guess number ${i}` },
        localAddress: ATTACKER,
      });
    for (let i = 0; i < threshold; i++) await guess(i);
    // Progressive: once the block has passed, the next failure blocks for twice as long.
    hub.clock.advance((hub.deps.config.lockoutMinutes + 1) * 60_000);
    expect((await guess(threshold)).status).toBe(401);
    const blocked = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'adm.only', password: STRONG_PASSWORD },
      localAddress: ATTACKER,
    });
    expect(blocked.status).toBe(423);
    expect(blocked.body).toMatchObject({ error: { code: 'ACCOUNT_LOCKED' } });
    const entry = hub.pki.store.loginThrottle.get('adm.only', ATTACKER)!;
    expect(entry.failures).toBe(threshold + 1); // tries while blocked are refused unchecked, not counted
    expect(entry.blockedUntil! - hub.clock.now()).toBeGreaterThan(
      hub.deps.config.lockoutMinutes * 60_000 * 1.9,
    );
    expect(hub.pki.store.securityEvents.list({ kind: 'account_locked' })[0]).toMatchObject({
      username: 'adm.only',
      source: ATTACKER,
    });

    // The owner, from their own network, is not affected at all.
    hub.clock.advance(30_000);
    const step = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'adm.only', password: STRONG_PASSWORD },
    });
    expect(step.status, step.text).toBe(200);
    const mfa = await hub.client.request('POST', '/api/v1/auth/mfa', {
      body: {
        challengeId: (step.body as { challengeId: string }).challengeId,
        code: totpCode(hub, admin.secret),
      },
    });
    expect(mfa.status, mfa.text).toBe(200);
    const view = await hub.client.request('GET', '/api/v1/users/adm.only', {
      token: (mfa.body as { token: string }).token,
    });
    expect(view.body).toMatchObject({ locked: true }); // blocked from the attacker's network

    // From the attacked network, one factor is not enough to unlock, nor a reused code.
    hub.clock.advance(30_000);
    const sessionsBefore = liveSessions('adm.only');
    for (const [password, code] of [
      [STRONG_PASSWORD, '000000'],
      ['not the password at all', totpCode(hub, admin.secret)],
    ] as const) {
      const refused = await hub.client.request('POST', '/api/v1/auth/unlock', {
        body: { username: 'adm.only', password, code },
        localAddress: ATTACKER,
      });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({
        error: { code: 'INVALID_CREDENTIALS', message: 'username or password is wrong' },
      });
    }
    const unknown = await hub.client.request('POST', '/api/v1/auth/unlock', {
      body: { username: 'adm.nobody', password: STRONG_PASSWORD, code: totpCode(hub, admin.secret) },
      localAddress: ATTACKER,
    });
    expect(unknown.status).toBe(401);
    expect(liveSessions('adm.only')).toBe(sessionsBefore);
    expect(hub.pki.store.loginThrottle.get('adm.only', ATTACKER)!.blockedUntil).toBeGreaterThan(
      hub.clock.now(),
    );

    // Both factors: a session, even from the attacked network, and that network's block is gone.
    const unlocked = await hub.client.request('POST', '/api/v1/auth/unlock', {
      body: { username: 'adm.only', password: STRONG_PASSWORD, code: totpCode(hub, admin.secret) },
      localAddress: ATTACKER,
    });
    expect(unlocked.status, unlocked.text).toBe(200);
    expect(unlocked.headers['set-cookie']?.[0]).toMatch(/^vg_session=vgs_/);
    expect(liveSessions('adm.only')).toBe(sessionsBefore + 1);
    expect(hub.pki.store.loginThrottle.get('adm.only', ATTACKER)).toBeUndefined();
    expect(hub.pki.store.audit.list({ action: 'auth.unlock', limit: 5 })).toEqual([
      expect.objectContaining({ actor: 'user:adm.only', outcome: 'success', source: ATTACKER }),
      expect.objectContaining({
        outcome: 'denied',
        details: expect.objectContaining({ cause: 'unknown_user' }),
      }),
      expect.objectContaining({
        outcome: 'denied',
        details: expect.objectContaining({ cause: 'wrong_password' }),
      }),
      expect.objectContaining({
        outcome: 'denied',
        details: expect.objectContaining({ cause: 'wrong_code' }),
      }),
    ]);
  });

  it('an admin clears every network at once, and the CLI path uses the same directory', async () => {
    const admin = await enrolledUser(hub, 'adm.ops', 'admin');
    await enrolledUser(hub, 'dr.many', 'clinician');
    for (const source of ['127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < hub.deps.config.lockoutThreshold; i++) {
        await hub.client.request('POST', '/api/v1/auth/login', {
          body: { username: 'dr.many', password: `guess ${i}` },
          localAddress: source,
        });
      }
    }
    expect(hub.pki.store.loginThrottle.blockedSources('dr.many', hub.clock.now())).toBe(2);
    await stepUp(hub, admin); // account changes need a fresh second factor
    const res = await hub.client.request('POST', '/api/v1/users/dr.many/unlock', { token: admin.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ locked: false });
    expect(hub.pki.store.loginThrottle.blockedSources('dr.many', hub.clock.now())).toBe(0);
    expect(hub.pki.store.audit.list({ action: 'user.unlock', limit: 1 })[0]).toMatchObject({
      target: 'user:dr.many',
      details: { networks: 2 },
    });
  });
});
