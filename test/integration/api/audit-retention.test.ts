// GET /api/v1/audit/verify after the retention policy pruned the oldest audit entries: the
// chain verifies from its anchor and the answer says what was pruned; an edit of a kept entry
// still fails it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolledUser, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let token: string;

beforeAll(async () => {
  hub = await startTestHub();
  token = (await enrolledUser(hub, 'aud.ret', 'auditor')).token;
}, 60_000);
afterAll(async () => hub?.close());

describe('GET /api/v1/audit/verify after a prune', () => {
  it('reports entries pruned by policy, not tampering, and still finds an edited kept entry', async () => {
    const { entries, anchor } = hub.pki.store.audit.prune(Date.now() + 1);
    expect(entries).toBeGreaterThan(0);

    const verified = await hub.client.request('GET', '/api/v1/audit/verify', { token });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      ok: true,
      checked: 1, // the audit.prune entry itself
      pruned: {
        entries: anchor!.throughSeq,
        throughSeq: anchor!.throughSeq,
        at: new Date(anchor!.prunedAt).toISOString(),
        before: new Date(anchor!.before).toISOString(),
      },
    });
    const [audited] = hub.pki.store.audit.list({ action: 'audit.verify' });
    expect(audited!.details).toEqual({ checked: 1, prunedThroughSeq: anchor!.throughSeq });

    hub.pki.store.db
      .prepare("UPDATE audit_log SET outcome = 'failure' WHERE action = 'audit.verify' AND seq > ?")
      .run(anchor!.throughSeq);
    const broken = await hub.client.request('GET', '/api/v1/audit/verify', { token });
    expect(broken.body).toMatchObject({
      ok: false,
      firstBad: { seq: anchor!.throughSeq + 2, problem: 'hash_mismatch' },
      pruned: { throughSeq: anchor!.throughSeq },
    });
  });
});
