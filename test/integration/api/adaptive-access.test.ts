// Adaptive access and the site geofence over real HTTPS. A PHI read from a network the clinician
// has not read from (a second loopback /24 as the source address) or at an hour they have not
// worked (an injected hour of day, never the wall clock's) asks for a step-up under `step-up`,
// and is refused under `deny`; the geofence refuses a read with no position or one outside every
// site, and a position inside a site grants nothing the other rules refuse. Each refusal: the
// coded error, an audit entry, and no PHI read served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../../../core/config.js';
import { hashSessionToken } from '../../../dashboard-api/auth/sessions.js';
import { addPatient } from '../../support/ingest.js';
import {
  enrolledUser,
  STRONG_PASSWORD,
  startTestHub,
  totpCode,
  type ApiClient,
  type TestHub,
} from './harness.js';

let hub: TestHub;
let mine: string;
let theirs: string;
let nurse: { username: string; secret: string; token: string };
let hour = 10;
const hourOf = () => hour;
let stepUp: ApiClient;
let deny: ApiClient;
let fence: ApiClient;

const SITE = { name: 'main', lat: 52.36, lon: 4.89, radiusM: 250 };

beforeAll(async () => {
  hub = await startTestHub();
  mine = addPatient(hub.pki, 'Ada Lovelace');
  theirs = addPatient(hub.pki, 'Charles Babbage');
  nurse = await enrolledUser(hub, 'nurse.adaptive', 'clinician');
  hub.pki.store.patients.assign(mine, nurse.username);
  const server = async (config: Partial<HubConfig>, phiNetworks?: readonly string[]) =>
    (
      await hub.extraServer({
        config: { ...hub.deps.config, ...config },
        hourOf,
        ...(phiNetworks ? { phiNetworks: { clinician: phiNetworks } } : {}),
      })
    ).client;
  stepUp = await server({ adaptiveAccess: { clinician: 'step-up' } });
  deny = await server({ adaptiveAccess: { clinician: 'deny' } });
  fence = await server({ geofence: { clinician: 'deny' }, geofenceSites: [SITE] }, ['127.0.0.0/24']);
}, 60_000);

afterAll(async () => hub?.close());

const read = (client: ApiClient, from: string, headers: Record<string, string> = {}, patient = mine) =>
  client.request('GET', `/api/v1/patients/${patient}`, { token: nurse.token, localAddress: from, headers });

const code = (res: { body: unknown }) => (res.body as { error?: { code: string } }).error?.code;

/** PHI reads served to the nurse from an address since an audit seq. */
const servedFrom = (source: string, afterSeq: number) =>
  hub.pki.store.audit
    .list({ action: 'phi.read', actor: `user:${nurse.username}`, outcome: 'success', afterSeq })
    .filter((e) => e.source === source);

const lastSeq = () => hub.pki.store.audit.list({ limit: 1 })[0]!.seq;

describe('adaptive access', () => {
  it('serves the first reads (nothing is unusual yet) and audits no decision for them', async () => {
    expect((await read(stepUp, '127.0.0.1')).status).toBe(200);
    expect((await read(stepUp, '127.0.0.1')).status).toBe(200);
    expect(hub.pki.store.audit.list({ action: 'access.adaptive' })).toEqual([]);
  });

  it('asks for a step-up for a read from a new network, audits why, serves nothing until then', async () => {
    const seq = lastSeq();
    const refused = await read(stepUp, '127.0.1.9');
    expect(refused.status, refused.text).toBe(401);
    expect(refused.body).toMatchObject({
      error: { code: 'STEP_UP_REQUIRED', details: { reason: 'adaptive:new_network' } },
    });
    expect(hub.pki.store.audit.list({ action: 'access.adaptive', limit: 1 })[0]).toMatchObject({
      actor: `user:${nurse.username}`,
      outcome: 'denied',
      source: '127.0.1.9',
      details: { signals: ['new_network'], decision: 'step-up', what: 'demographics' },
    });
    expect(servedFrom('127.0.1.9', seq)).toEqual([]);

    // A step-up given after the signal appeared lets the read through, and the network is known.
    hub.clock.advance(1000);
    hub.api.apiContext.sessions.markSteppedUp(hashSessionToken(nurse.token), 'totp', '127.0.1.9');
    expect((await read(stepUp, '127.0.1.9')).status).toBe(200);
    expect(hub.pki.store.audit.list({ action: 'access.adaptive', limit: 1 })[0]).toMatchObject({
      outcome: 'success',
      details: { signals: ['new_network'], decision: 'step-up' },
    });
    expect(servedFrom('127.0.1.9', seq)).toHaveLength(1);
  });

  it('asks again at an hour the user has not worked, even right after a step-up', async () => {
    hour = 3;
    const seq = lastSeq();
    const refused = await read(stepUp, '127.0.0.1');
    expect(code(refused)).toBe('STEP_UP_REQUIRED');
    expect(refused.body).toMatchObject({ error: { details: { reason: 'adaptive:unusual_hours' } } });
    expect(servedFrom('127.0.0.1', seq)).toEqual([]);
    hour = 10;
  });

  it('refuses a read from a new network under deny, with a coded error and an audit entry', async () => {
    const seq = lastSeq();
    const refused = await read(deny, '127.0.2.7');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: { code: 'ADAPTIVE_ACCESS_DENIED', details: { signals: ['new_network'] } },
    });
    expect(hub.pki.store.audit.list({ action: 'access.adaptive', limit: 1 })[0]).toMatchObject({
      outcome: 'denied',
      source: '127.0.2.7',
      details: { decision: 'deny' },
    });
    expect(servedFrom('127.0.2.7', seq)).toEqual([]);
  });

  it('audits a sign-in from a new network; PHI then needs a step-up made after it', async () => {
    hub.clock.advance(30_000);
    const step = await stepUp.request('POST', '/api/v1/auth/login', {
      localAddress: '127.0.5.5',
      body: { username: nurse.username, password: STRONG_PASSWORD },
    });
    const mfa = await stepUp.request('POST', '/api/v1/auth/mfa', {
      localAddress: '127.0.5.5',
      body: {
        challengeId: (step.body as { challengeId: string }).challengeId,
        code: totpCode(hub, nurse.secret),
      },
    });
    expect(mfa.status, mfa.text).toBe(200);
    expect(hub.pki.store.audit.list({ action: 'access.adaptive', limit: 1 })[0]).toMatchObject({
      outcome: 'success',
      source: '127.0.5.5',
      details: { at: 'sign_in', signals: ['new_network'], decision: 'step-up' },
    });
    const token = (mfa.body as { token: string }).token;
    const refused = await stepUp.request('GET', `/api/v1/patients/${mine}`, {
      token,
      localAddress: '127.0.5.5',
    });
    expect(code(refused)).toBe('STEP_UP_REQUIRED');
  });
});

describe('the site geofence', () => {
  const inside = { 'x-vitalgate-position': '52.3601,4.8902,20' };
  const outside = { 'x-vitalgate-position': '52.40,4.95,20' };

  it('refuses a read with no position, or one outside every site, and says why', async () => {
    const seq = lastSeq();
    const none = await read(fence, '127.0.0.1');
    expect(none.status).toBe(403);
    expect(code(none)).toBe('GEOFENCE_POSITION_REQUIRED');
    const away = await read(fence, '127.0.0.1', outside);
    expect(code(away)).toBe('GEOFENCE_OUTSIDE_SITES');
    expect(hub.pki.store.audit.list({ action: 'access.adaptive', limit: 1 })[0]).toMatchObject({
      outcome: 'denied',
      details: { signals: ['outside_sites'], decision: 'deny' },
    });
    // No coordinates are written to the audit log.
    // (Only the details are read: a timestamp's milliseconds could spell the same digits.)
    const details = JSON.stringify(
      hub.pki.store.audit.list({ action: 'access.adaptive' }).map((e) => e.details),
    );
    expect(details).not.toContain('52.40');
    expect(details).not.toContain('4.95');
    expect(servedFrom('127.0.0.1', seq)).toEqual([]);
  });

  it('refuses a malformed position with POSITION_INVALID', async () => {
    const bad = await read(fence, '127.0.0.1', { 'x-vitalgate-position': 'somewhere near the ward' });
    const seq = lastSeq();
    expect(bad.status).toBe(400);
    expect(code(bad)).toBe('POSITION_INVALID');
    expect(hub.pki.store.audit.list({ action: 'api.request.rejected', afterSeq: seq - 1 })[0]).toMatchObject({
      actor: `user:${nurse.username}`,
      outcome: 'denied',
      details: { code: 'POSITION_INVALID' },
    });
    expect(servedFrom('127.0.0.1', seq - 1)).toEqual([]);
    expect(code(await read(fence, '127.0.0.1', { 'x-vitalgate-position': '95,4.89,10' }))).toBe(
      'POSITION_INVALID',
    );
  });

  it('serves a read inside a site, and a position inside a site grants nothing else', async () => {
    expect((await read(fence, '127.0.0.1', inside)).status).toBe(200);
    const seq = lastSeq();
    // Another network than the role's PHI networks: still refused.
    expect(code(await read(fence, '127.0.3.1', inside))).toBe('PHI_NETWORK_REFUSED');
    // A patient who is not assigned: still refused.
    expect(code(await read(fence, '127.0.0.1', inside, theirs))).toBe('PATIENT_NOT_ACCESSIBLE');
    expect(
      hub.pki.store.audit
        .list({ action: 'phi.read', outcome: 'success', afterSeq: seq })
        .filter((e) => e.actor === `user:${nurse.username}`),
    ).toEqual([]);
  });
});
