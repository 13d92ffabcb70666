// The hostile-input catalogue, API side (issue 22; listed in docs/SECURITY.md): login, access to
// other patients, enrollment and EST, bodies and headers, and what the HTTP stack itself refuses.
// One hub for the file; each case is one request that must be refused with its status and coded
// `{error:{code,message}}` body, quote nothing of the request, and leave the control plane as it
// was (nothing stored, nothing granted: test/support/stored-state.ts).
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webcrypto } from 'node:crypto';
import { x509 } from '../../../pki/crypto-provider.js';
import { makeCsr } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { storedState } from '../../support/stored-state.js';
import {
  enrolledUser,
  startTestHub,
  STRONG_PASSWORD,
  type HttpResult,
  type RequestExtras,
  type TestHub,
} from '../api/harness.js';

let hub: TestHub;
let mine: string;
let theirs: string;
const tokens: Record<'clinician' | 'admin' | 'engineer' | 'auditor', string> = {
  clinician: '',
  admin: '',
  engineer: '',
  auditor: '',
};
let pendingToken: string;
let csrs: { ownCn: string; otherCn: string; weakRsa: string };

beforeAll(async () => {
  hub = await startTestHub();
  mine = addPatient(hub.pki, 'Grace Hopper');
  theirs = addPatient(hub.pki, 'Alan Turing');
  for (const role of Object.keys(tokens) as (keyof typeof tokens)[]) {
    tokens[role] = (await enrolledUser(hub, `${role}.cat`, role)).token;
  }
  hub.pki.store.patients.assign(mine, 'clinician.cat');
  hub.pki.store.devices.add({ id: 'dev-pending', kind: 'pulse_oximeter', patientId: null });
  pendingToken = hub.pki.tokens.issue('dev-pending', 3_600_000, 'test').token;
  const rsa = (await webcrypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  csrs = {
    ownCn: (await makeCsr('dev-pending')).csrPem,
    otherCn: (await makeCsr('dev-someone-else')).csrPem,
    weakRsa: (
      await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=dev-pending',
        keys: rsa,
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
      })
    ).toString('pem'),
  };
}, 120_000);

afterAll(async () => hub?.close());

/** Strings that must never come back in an answer: PHI, stack frames, library error texts. */
const NEVER = /Grace|Hopper|Alan|Turing|at .*\.[jt]s:\d+|FST_ERR|statusCode|"error":"/;

interface Case {
  name: string;
  send: () => Promise<HttpResult>;
  status: number;
  code: string;
  /** A piece of the request that must not be quoted back. */
  marker?: string;
}

const api =
  (method: string, path: string, extras: RequestExtras = {}) =>
  () =>
    hub.client.request(method, path, extras);
const as =
  (role: keyof typeof tokens, method: string, path: string, extras: RequestExtras = {}) =>
  () =>
    hub.client.request(method, path, { ...extras, token: tokens[role] });
const deviceBody = (id: string) => JSON.stringify({ id, kind: 'pulse_oximeter' });
const createDevice = (id: string, contentType: string | undefined, raw: string | Buffer = deviceBody(id)) =>
  as('admin', 'POST', '/api/v1/devices', {
    rawBody: raw,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });
const estBasic = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const pemBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

/** Writes raw bytes to the API over TLS and reads the whole answer (the server closes it). */
function rawHttp(bytes: string): () => Promise<HttpResult> {
  return () =>
    new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: hub.client.port,
        ca: hub.client.ca,
        servername: 'localhost',
      });
      const chunks: Buffer[] = [];
      socket.on('secureConnect', () => socket.write(bytes));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        const [head = '', body = ''] = text.split('\r\n\r\n');
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
          headers: {},
          text,
          body: parsed,
          raw,
        });
      });
    });
}

const LOGIN: Case[] = [
  {
    name: 'SQL in the username',
    send: api('POST', '/api/v1/auth/login', { body: { username: "admin' OR 1=1 --", password: 'x' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    marker: 'OR 1=1',
  },
  {
    name: 'unknown username',
    send: api('POST', '/api/v1/auth/login', { body: { username: 'nobody.here', password: STRONG_PASSWORD } }),
    status: 401,
    code: 'INVALID_CREDENTIALS',
    marker: 'nobody.here',
  },
  {
    name: 'wrong password for a real account',
    send: api('POST', '/api/v1/auth/login', { body: { username: 'admin.cat', password: 'not it at all' } }),
    status: 401,
    code: 'INVALID_CREDENTIALS',
  },
  {
    name: 'a 65-character username',
    send: api('POST', '/api/v1/auth/login', { body: { username: 'a'.repeat(65), password: 'x' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a role smuggled into the login body',
    send: api('POST', '/api/v1/auth/login', {
      body: { username: 'admin.cat', password: STRONG_PASSWORD, role: 'admin' },
    }),
    status: 400,
    code: 'UNKNOWN_FIELD',
  },
  {
    name: 'a forged challenge id at the MFA step',
    send: api('POST', '/api/v1/auth/mfa', {
      body: { challengeId: 'vgc_forgedforgedforged', code: '123456' },
    }),
    status: 401,
    code: 'CHALLENGE_INVALID',
    marker: 'forgedforged',
  },
  {
    name: 'a TOTP code that is not six digits',
    send: api('POST', '/api/v1/auth/mfa', { body: { challengeId: 'vgc_abcdefghijk', code: '12345a' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'unlock with a password and a guessed code',
    send: api('POST', '/api/v1/auth/unlock', {
      body: { username: 'admin.cat', password: STRONG_PASSWORD, code: '000000' },
    }),
    status: 401,
    code: 'INVALID_CREDENTIALS',
  },
  {
    name: 'a made-up bearer token',
    send: api('GET', '/api/v1/auth/session', { headers: { authorization: 'Bearer vgs_madeupmadeupmadeup' } }),
    status: 401,
    code: 'UNAUTHENTICATED',
    marker: 'madeup',
  },
  {
    name: 'a made-up session cookie',
    send: api('GET', '/api/v1/auth/session', { headers: { cookie: 'vg_session=vgs_cookiecookiecookie' } }),
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'a password change with the wrong current password',
    send: as('auditor', 'POST', '/api/v1/auth/password', {
      body: { currentPassword: 'wrong current one', newPassword: 'another long passphrase 77' },
    }),
    status: 401,
    code: 'INVALID_CREDENTIALS',
  },
];

const OTHER_PATIENTS: Case[] = [
  ...(['', '/telemetry', '/observations', '/live'] as const).map((what): Case => ({
    name: `a clinician reads an unassigned patient${what || ' (demographics)'}`,
    send: () => as('clinician', 'GET', `/api/v1/patients/${theirs}${what}`)(),
    status: 403,
    code: 'PATIENT_NOT_ACCESSIBLE',
  })),
  {
    name: 'a clinician lists alerts of an unassigned patient',
    send: () => as('clinician', 'GET', `/api/v1/alerts?patientId=${theirs}`)(),
    status: 403,
    code: 'PATIENT_NOT_ACCESSIBLE',
  },
  {
    name: 'break-glass with a too-short reason',
    send: () =>
      as('clinician', 'POST', `/api/v1/patients/${theirs}/break-glass`, { body: { reason: 'now' } })(),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a clinician assigns themselves an unassigned patient',
    send: () =>
      as('clinician', 'POST', `/api/v1/patients/${theirs}/assignments`, {
        body: { username: 'clinician.cat' },
      })(),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'an admin reads telemetry',
    send: () => as('admin', 'GET', `/api/v1/patients/${mine}/telemetry`)(),
    status: 403,
    code: 'PHI_NOT_PERMITTED',
  },
  {
    name: 'an engineer reads demographics',
    send: () => as('engineer', 'GET', `/api/v1/patients/${mine}`)(),
    status: 403,
    code: 'PHI_NOT_PERMITTED',
  },
  {
    name: 'an auditor registers a device',
    send: as('auditor', 'POST', '/api/v1/devices', { body: { id: 'dev-auditor', kind: 'thermometer' } }),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a clinician creates an admin',
    send: as('clinician', 'POST', '/api/v1/users', { body: { username: 'evil.admin', role: 'admin' } }),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a cookie-borne write from a foreign origin',
    send: () =>
      hub.client.request('POST', '/api/v1/devices', {
        body: { id: 'dev-csrf', kind: 'thermometer' },
        headers: { cookie: `vg_session=${tokens.admin}`, origin: 'https://evil.example' },
      }),
    status: 403,
    code: 'CSRF_REJECTED',
    marker: 'evil.example',
  },
];

const ENROLLMENT: Case[] = [
  {
    name: 'enroll with a made-up token',
    send: () => api('POST', '/api/v1/enroll', { body: { token: 'x'.repeat(43), csr: csrs.ownCn } })(),
    status: 401,
    code: 'ENROLLMENT_TOKEN_INVALID',
  },
  {
    name: 'enroll with a CSR for another device id',
    send: () => api('POST', '/api/v1/enroll', { body: { token: pendingToken, csr: csrs.otherCn } })(),
    status: 400,
    code: 'CSR_SUBJECT_MISMATCH',
    marker: 'dev-someone-else',
  },
  {
    name: 'enroll with an RSA-1024 key',
    send: () => api('POST', '/api/v1/enroll', { body: { token: pendingToken, csr: csrs.weakRsa } })(),
    status: 400,
    code: 'CSR_KEY_TOO_WEAK',
  },
  {
    name: 'enroll with a CSR that is not PEM',
    send: () =>
      api('POST', '/api/v1/enroll', {
        body: {
          token: pendingToken,
          csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all\n-----END CERTIFICATE REQUEST-----',
        },
      })(),
    status: 400,
    code: 'CSR_MALFORMED',
  },
  {
    name: 'renewal without a client certificate',
    send: () => api('POST', '/api/v1/enroll/renew', { body: { csr: csrs.ownCn } })(),
    status: 401,
    code: 'CLIENT_CERTIFICATE_REQUIRED',
  },
  {
    name: 'EST simpleenroll without credentials',
    send: () =>
      api('POST', '/.well-known/est/simpleenroll', {
        rawBody: pemBody(csrs.ownCn),
        headers: { 'content-type': 'application/pkcs10' },
      })(),
    status: 401,
    code: 'ENROLLMENT_TOKEN_INVALID',
  },
  {
    name: 'EST simpleenroll with a wrong token',
    send: () =>
      api('POST', '/.well-known/est/simpleenroll', {
        rawBody: pemBody(csrs.ownCn),
        headers: {
          'content-type': 'application/pkcs10',
          authorization: estBasic('dev-pending', 'y'.repeat(43)),
        },
      })(),
    status: 401,
    code: 'ENROLLMENT_TOKEN_INVALID',
  },
  {
    name: 'EST simpleenroll with a body that is not base64',
    send: () =>
      api('POST', '/.well-known/est/simpleenroll', {
        rawBody: '%%% not base64 %%%',
        headers: {
          'content-type': 'application/pkcs10',
          authorization: estBasic('dev-pending', pendingToken),
        },
      })(),
    status: 400,
    code: 'CSR_MALFORMED',
  },
  {
    name: 'EST simplereenroll without a client certificate',
    send: () =>
      api('POST', '/.well-known/est/simplereenroll', {
        rawBody: pemBody(csrs.ownCn),
        headers: { 'content-type': 'application/pkcs10' },
      })(),
    status: 401,
    code: 'CLIENT_CERTIFICATE_REQUIRED',
  },
  {
    name: 'an enrollment token for a device that does not exist',
    send: as('engineer', 'POST', '/api/v1/devices/dev-ghost/enrollment-token'),
    status: 404,
    code: 'DEVICE_NOT_FOUND',
  },
];

const BODIES: Case[] = [
  // Media types (item 6): JSON routes take application/json in UTF-8 only.
  {
    name: 'a text/plain body',
    send: createDevice('dev-m1', 'text/plain'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'application/json; charset=utf-16 with UTF-8 bytes',
    send: createDevice('dev-m2', 'application/json; charset=utf-16'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'application/json; charset=iso-8859-1',
    send: createDevice('dev-m3', 'application/json; charset=iso-8859-1'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'application/json with a stray parameter',
    send: createDevice('dev-m4', 'application/json; boundary=xyz'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'a form-encoded body',
    send: createDevice('dev-m5', 'application/x-www-form-urlencoded', 'id=dev-m5&kind=thermometer'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'a body without a content type',
    send: createDevice('dev-m6', undefined),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'application/json-patch+json',
    send: createDevice('dev-m7', 'application/json-patch+json'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'bytes that are not UTF-8',
    send: createDevice(
      'dev-m8',
      'application/json',
      Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ),
    status: 400,
    code: 'BODY_INVALID',
  },
  // Parser errors (item 5).
  {
    name: 'truncated JSON',
    send: createDevice('dev-p1', 'application/json', '{"id":"dev-p1",'),
    status: 400,
    code: 'BODY_INVALID',
  },
  {
    name: 'an empty JSON body',
    send: createDevice('dev-p2', 'application/json', ''),
    status: 400,
    code: 'BODY_INVALID',
  },
  {
    name: '__proto__ in the body',
    send: createDevice(
      'dev-p3',
      'application/json',
      '{"id":"dev-p3","kind":"thermometer","__proto__":{"admin":true}}',
    ),
    status: 400,
    code: 'BODY_INVALID',
  },
  {
    name: 'constructor.prototype in the body',
    send: createDevice(
      'dev-p4',
      'application/json',
      '{"id":"dev-p4","kind":"thermometer","constructor":{"prototype":{"admin":true}}}',
    ),
    status: 400,
    code: 'BODY_INVALID',
  },
  {
    name: 'JSON nested 20,000 deep',
    send: createDevice('dev-p5', 'application/json', `${'['.repeat(20_000)}${']'.repeat(20_000)}`),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a JSON array for an object',
    send: createDevice('dev-p6', 'application/json', '[1,2,3]'),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a body over 64 KiB',
    send: createDevice(
      'dev-p7',
      'application/json',
      JSON.stringify({ id: 'dev-p7', kind: 'x'.repeat(70_000) }),
    ),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'an unknown field (a status smuggled into device creation)',
    send: as('admin', 'POST', '/api/v1/devices', {
      body: { id: 'dev-p8', kind: 'thermometer', status: 'active' },
    }),
    status: 400,
    code: 'UNKNOWN_FIELD',
  },
  {
    name: 'a NUL byte in a device id',
    send: as('admin', 'POST', '/api/v1/devices', { body: { id: 'dev-p9\u0000x', kind: 'thermometer' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  // URLs and the HTTP stack (item 5): coded, and never quoting the request.
  {
    name: 'a path parameter over 200 characters, before authentication',
    send: api('GET', `/api/v1/devices/${'quoted'.repeat(60)}`),
    status: 414,
    code: 'URI_TOO_LONG',
    marker: 'quotedquoted',
  },
  {
    name: 'a broken percent-encoding in the path',
    send: api('GET', '/api/v1/devices/%E0%A4%Aquoted'),
    status: 400,
    code: 'URL_INVALID',
    marker: 'quoted',
  },
  {
    name: 'an unknown route with script in it',
    send: api('GET', '/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E'),
    status: 404,
    code: 'ROUTE_NOT_FOUND',
    marker: 'script',
  },
  {
    name: 'headers over 16 KiB',
    send: rawHttp(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Quoted: ${'q'.repeat(20_000)}\r\n\r\n`),
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    marker: 'qqqq',
  },
  {
    name: 'a request line that is not HTTP',
    send: rawHttp('QUOTED-GARBAGE \u0001\u0002 /x\r\n\r\n'),
    status: 400,
    code: 'BAD_REQUEST',
    marker: 'QUOTED',
  },
  {
    name: 'Content-Length and Transfer-Encoding together (smuggling)',
    send: rawHttp(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'two different Content-Lengths',
    send: rawHttp(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}',
    ),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a method HTTP does not have',
    send: rawHttp('QUOTEDMETHOD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    status: 400,
    code: 'BAD_REQUEST',
    marker: 'QUOTEDMETHOD',
  },
  {
    name: 'an absolute-form target naming another host',
    send: rawHttp(
      'GET https://quoted.example/api/v1/nothing HTTP/1.1\r\nHost: quoted.example\r\nConnection: close\r\n\r\n',
    ),
    status: 404,
    code: 'ROUTE_NOT_FOUND',
    marker: 'quoted.example',
  },
  {
    name: 'a header with a control character',
    send: rawHttp('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Quoted: a\u0000b\r\n\r\n'),
    status: 400,
    code: 'BAD_REQUEST',
  },
];

function catalogue(area: string, cases: Case[]) {
  describe(area, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const before = storedState(hub.pki.store);
        const res = await c.send();
        expect(res.status, res.text.slice(0, 300)).toBe(c.status);
        expect(res.body).toMatchObject({ error: { code: c.code, message: expect.any(String) } });
        expect(Object.keys(res.body as object)).toEqual(['error']);
        expect(res.text).not.toMatch(NEVER);
        if (c.marker) expect(res.text).not.toContain(c.marker);
        expect(storedState(hub.pki.store)).toEqual(before);
      });
    }
  });
}

catalogue('login', LOGIN);
catalogue('access to other patients and other roles', OTHER_PATIENTS);
catalogue('enrollment and EST', ENROLLMENT);
catalogue('bodies, headers and the HTTP stack', BODIES);

describe('the HTTP stack while the hub shuts down', () => {
  it('a request arriving during shutdown gets 503 SHUTTING_DOWN, coded', async () => {
    // A server whose readiness probe waits until released: its /readyz keeps a connection busy
    // while the server closes, and a second request is pipelined on that connection.
    let entered!: () => void;
    let release!: (ready: true | string) => void;
    const inProbe = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<true | string>((resolve) => (release = resolve));
    const server = await hub.extraServer({
      readiness: [
        {
          name: 'held',
          check: () => {
            entered();
            return gate;
          },
        },
      ],
    });
    const open = () =>
      tlsConnect({ host: '127.0.0.1', port: server.client.port, ca: hub.client.ca, servername: 'localhost' });
    const socket = open();
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write('GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await inProbe;
    const closing = server.close();
    // Shutdown has begun once the listener refuses new connections.
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const probe = open();
        probe.once('secureConnect', () => {
          probe.destroy();
          resolve(false);
        });
        probe.once('error', () => resolve(true));
      });
      if (refused) break;
    }
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    release(true);
    await closing;
    await closed;
    const answers = Buffer.concat(chunks).toString('utf8');
    expect(answers).toMatch(/^HTTP\/1\.1 200 /);
    const second = answers.slice(answers.indexOf('HTTP/1.1', 1));
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'SHUTTING_DOWN', message: 'the hub is shutting down' },
    });
  });
});

describe('what the catalogue leaves behind', () => {
  it('no device, user, assignment or grant was created by any case', () => {
    const devices = hub.pki.store.devices.list().map((d) => d.id);
    expect(devices).toEqual(['dev-pending']);
    expect(hub.pki.store.devices.get('dev-pending')).toMatchObject({ status: 'pending' });
    expect(hub.pki.store.users.list().map((u) => u.username)).not.toContain('evil.admin');
    // Shapes refused by the parser are audited (400, 413, 414, 415).
    const rejected = hub.pki.store.audit.list({ action: 'api.request.rejected', limit: 1000 });
    expect(rejected.map((e) => e.details?.code)).toEqual(
      expect.arrayContaining(['UNSUPPORTED_MEDIA_TYPE', 'URI_TOO_LONG', 'BODY_INVALID', 'PAYLOAD_TOO_LARGE']),
    );
  });
});
