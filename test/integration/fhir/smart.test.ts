// SMART Backend Services over real HTTPS: an admin registers system clients, a client signs a
// JWT assertion (ES384 or RS384) for a five-minute token at /oauth2/token, and reads the FHIR
// server with it through fhir-kit-client within its scopes. Refused assertions (expired,
// replayed, wrongly signed, for another audience) get an OperationOutcome, are audited, and leave
// no token behind.
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import type { MqttClient } from 'mqtt';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { enrolledUser, startTestHub, type TestHub } from '../api/harness.js';
import { fhirClient as kitClient, fhirId, refusal, type Outcome } from './fhir-client.js';

let hub: TestHub;
let dispatcher: Agent;
let device: MqttClient;
let patientId: string;
let adminToken: string;
let tokenUrl: string;
let observer: { id: string; key: CryptoKey };
const t0 = Date.parse('2026-11-30T08:00:00.000Z');

function fhirClient(bearer: string) {
  return kitClient(hub.client.port, dispatcher, bearer);
}

async function register(body: Record<string, unknown>) {
  return hub.client.request('POST', '/api/v1/fhir-clients', { token: adminToken, body });
}

async function assertion(
  clientId: string,
  key: CryptoKey,
  alg: 'ES384' | 'RS384' = 'ES384',
  claims: { aud?: string; exp?: number; jti?: string } = {},
) {
  const now = Math.floor(hub.clock.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(claims.aud ?? tokenUrl)
    .setExpirationTime(claims.exp ?? now + 240)
    .setJti(claims.jti ?? randomUUID())
    .sign(key);
}

async function requestToken(signed: string, scope = 'system/Observation.rs') {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: signed,
    scope,
  });
  return hub.client.request('POST', '/oauth2/token', {
    rawBody: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

const tokenRows = () =>
  (hub.pki.store.db.prepare('SELECT count(*) AS n FROM fhir_access_tokens').get() as { n: number }).n;

beforeAll(async () => {
  hub = await startTestHub();
  dispatcher = new Agent({ connect: { ca: hub.pki.authority.caBundlePem() } });
  patientId = addPatient(hub.pki, 'Katherine Johnson');
  const creds = await hub.pki.issueDevice('smart-wear', 'wearable', { patientId });
  device = await connectDevice(hub.brokerPort, creds, 'smart-wear');
  for (let seq = 1; seq <= 5; seq++) {
    const hr = [{ type: 'heart_rate', value: 70 + seq, unit: '/min' }];
    await publishQos1(
      device,
      'devices/smart-wear/telemetry',
      envelope(seq, hr, t0 + seq * 60_000).toString(),
    );
  }
  expect(await hub.pipeline.writer.drained()).toBe(true);
  adminToken = (await enrolledUser(hub, 'admin.smart', 'admin')).token;
  const config = await hub.client.request('GET', '/.well-known/smart-configuration');
  tokenUrl = (config.body as { token_endpoint: string }).token_endpoint;
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const registered = await register({
    name: 'Remote monitoring analytics',
    publicKeys: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }),
    scopes: ['system/Observation.rs'],
  });
  expect(registered.status, registered.text).toBe(201);
  observer = { id: (registered.body as { id: string }).id, key: privateKey };
  fhirValidator('Bundle');
}, 120_000);

afterAll(async () => {
  await device?.endAsync();
  await dispatcher?.close();
  await hub?.close();
});

describe('SMART Backend Services', () => {
  it('publishes its configuration and names the token endpoint in the CapabilityStatement', async () => {
    const config = await hub.client.request('GET', '/.well-known/smart-configuration');
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      token_endpoint: `https://127.0.0.1:${hub.client.port}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['ES384', 'RS384'],
      grant_types_supported: ['client_credentials'],
    });
    const beside = await hub.client.request('GET', '/fhir/R4/.well-known/smart-configuration');
    expect(beside.body).toEqual(config.body);
    const cs = await hub.client.request('GET', '/fhir/R4/metadata');
    expect(cs.text).toContain('"valueUri":"https://127.0.0.1:');
    expect(fhirValidator('CapabilityStatement')(cs.body)).toBe(true);
  });

  it('gives a valid assertion a five-minute token that reads Observations and nothing else', async () => {
    const answer = await requestToken(await assertion(observer.id, observer.key));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const issued = answer.body as {
      access_token: string;
      token_type: string;
      expires_in: number;
      scope: string;
    };
    expect(issued).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/Observation.rs' });
    expect(hub.pki.store.audit.list({ action: 'fhir.token', outcome: 'success' })).toEqual([
      expect.objectContaining({ actor: `fhir-client:${observer.id}` }),
    ]);

    const client = fhirClient(issued.access_token);
    const bundle = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: fhirId(patientId), date: ['ge2026-11-30', 'le2026-11-30'] },
    })) as unknown as { total: number };
    expect(fhirValidator('Bundle')(bundle)).toBe(true);
    expect(bundle.total).toBe(5);
    expect(
      hub.pki.store.audit.list({
        actor: `fhir-client:${observer.id}`,
        action: 'phi.read',
        target: `patient:${patientId}`,
      }),
    ).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ what: 'fhir.Observation', total: 5 }) }),
    ]);

    for (const attempt of [
      client.read({ resourceType: 'Patient', id: fhirId(patientId) }),
      client.search({ resourceType: 'Patient', searchParams: {} }),
      client.search({ resourceType: 'Device', searchParams: { patient: fhirId(patientId) } }),
      client.operation({
        resourceType: 'Patient',
        id: fhirId(patientId),
        name: '$everything',
        method: 'GET',
      }),
    ]) {
      const refused = await refusal(attempt);
      expect(refused.status).toBe(403);
      expect(fhirValidator('OperationOutcome')(refused.outcome)).toBe(true);
      expect(refused.outcome.issue[0]!.details.coding[0]!.code).toBe('SCOPE_NOT_GRANTED');
      expect(JSON.stringify(refused.outcome)).not.toContain('Katherine');
    }
    expect(
      hub.pki.store.audit.list({
        actor: `fhir-client:${observer.id}`,
        action: 'fhir.access',
        outcome: 'denied',
      }),
    ).toHaveLength(4);

    hub.clock.advance(301_000);
    const expired = await refusal(
      client.search({ resourceType: 'Observation', searchParams: { patient: fhirId(patientId) } }),
    );
    expect(expired.status).toBe(401);
  });

  it('refuses expired, replayed, wrongly signed and wrong-audience assertions, audited, with no token', async () => {
    const now = Math.floor(hub.clock.now() / 1000);
    const stranger = await generateKeyPair('ES384');
    const replayed = await assertion(observer.id, observer.key);
    expect((await requestToken(replayed)).status).toBe(200);
    const before = tokenRows();
    const cases: [string, string][] = [
      ['expired', await assertion(observer.id, observer.key, 'ES384', { exp: now - 120 })],
      ['replayed', replayed],
      ['signature', await assertion(observer.id, stranger.privateKey)],
      [
        'claim_aud',
        await assertion(observer.id, observer.key, 'ES384', { aud: 'https://ehr.example/token' }),
      ],
      ['lifetime', await assertion(observer.id, observer.key, 'ES384', { exp: now + 3600 })],
    ];
    for (const [reason, signed] of cases) {
      const answer = await requestToken(signed);
      expect(answer.status, reason).toBe(401);
      const outcome = answer.body as Outcome;
      expect(fhirValidator('OperationOutcome')(outcome)).toBe(true);
      expect(outcome.issue[0]!.details.coding[0]!.code).toBe('CLIENT_ASSERTION_INVALID');
      const entry = hub.pki.store.audit.list({ action: 'fhir.token', outcome: 'denied' })[0]!; // newest first
      expect(entry).toMatchObject({ actor: `fhir-client:${observer.id}`, details: { reason } });
    }
    const wider = await requestToken(await assertion(observer.id, observer.key), 'system/Patient.rs');
    expect(wider.status).toBe(403);
    expect((wider.body as Outcome).issue[0]!.details.coding[0]!.code).toBe('SCOPE_NOT_GRANTED');
    const unknown = await requestToken(await assertion('fc_nobody', observer.key));
    expect(unknown.status).toBe(401);
    const notJwt = await requestToken('not.a.jwt');
    expect(notJwt.status).toBe(401);
    expect(tokenRows()).toBe(before); // no refused assertion left a token
  });

  it('shows Patient demographics only to a client registered for them (RS384, PEM key)', async () => {
    const results: Record<string, unknown>[] = [];
    for (const demographics of [false, true]) {
      const { publicKey, privateKey } = await generateKeyPair('RS384', {
        modulusLength: 2048,
        extractable: true,
      });
      const registered = await register({
        name: `EHR ${demographics}`,
        publicKeys: await exportSPKI(publicKey),
        scopes: ['system/Patient.rs', 'system/Observation.rs'],
        demographics,
      });
      expect(registered.status, registered.text).toBe(201);
      const id = (registered.body as { id: string }).id;
      const answer = await requestToken(
        await assertion(id, privateKey, 'RS384'),
        'system/Patient.rs system/Device.rs',
      );
      expect(answer.status, answer.text).toBe(200);
      expect((answer.body as { scope: string }).scope).toBe('system/Patient.rs');
      const client = fhirClient((answer.body as { access_token: string }).access_token);
      const patient = (await client.read({ resourceType: 'Patient', id: fhirId(patientId) })) as Record<
        string,
        unknown
      >;
      expect(fhirValidator('Patient')(patient)).toBe(true);
      results.push(patient);
    }
    expect(results[0]).not.toHaveProperty('name');
    expect(results[0]).toMatchObject({ meta: { security: [{ code: 'PSEUDED' }] } });
    expect(results[1]).toMatchObject({ name: [{ text: 'Katherine Johnson' }] });
  });

  it('registers only public ES384/RS384 keys and valid scopes, by admins only', async () => {
    const before = hub.pki.store.db.prepare('SELECT count(*) AS n FROM fhir_clients').get();
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const p256 = await generateKeyPair('ES256', { extractable: true });
    for (const body of [
      {
        name: 'x',
        publicKeys: JSON.stringify({ keys: [await exportJWK(privateKey)] }),
        scopes: ['system/Observation.rs'],
      },
      {
        name: 'x',
        publicKeys: JSON.stringify({ keys: [await exportJWK(p256.publicKey)] }),
        scopes: ['system/Observation.rs'],
      },
      { name: 'x', publicKeys: 'not a key', scopes: ['system/Observation.rs'] },
      { name: 'x', publicKeys: await exportSPKI(p256.publicKey), scopes: ['system/Observation.rs'] },
      {
        name: 'x',
        publicKeys: JSON.stringify({ keys: [await exportJWK(p256.publicKey)] }),
        scopes: ['patient/*.read'],
      },
    ]) {
      const refused = await register(body);
      expect(refused.status, refused.text).toBe(400);
      expect((refused.body as { error: { code: string } }).error.code).toBe('FHIR_CLIENT_INVALID');
    }
    const dr = await enrolledUser(hub, 'dr.smart', 'clinician');
    const byClinician = await hub.client.request('POST', '/api/v1/fhir-clients', {
      token: dr.token,
      body: { name: 'x', publicKeys: '{}', scopes: ['system/Observation.rs'] },
    });
    expect(byClinician.status).toBe(403);
    expect(hub.pki.store.db.prepare('SELECT count(*) AS n FROM fhir_clients').get()).toEqual(before);
  });
});
