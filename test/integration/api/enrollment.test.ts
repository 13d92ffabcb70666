// Device enrollment over the API with real OpenSSL peers: a CSR from `openssl req` posted with a
// one-time token gets a certificate; EST simpleenroll returns a PKCS#7 that `openssl pkcs7
// -print_certs` reads; renewal and simplereenroll authenticate with the device's certificate
// (mutual TLS); the lifecycle verbs need a reason and reach the PKI endpoints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, writeFiles } from '../../support/openssl.js';
import { enrolledUser, startTestHub, stepUp, type TestHub } from './harness.js';

let hub: TestHub;
let engineer: string;
let engineerUser: { secret: string; token: string };

beforeAll(async () => {
  hub = await startTestHub();
  engineerUser = await enrolledUser(hub, 'eng.pki', 'engineer');
  engineer = engineerUser.token;
}, 60_000);

afterAll(async () => hub?.close());

function opensslCsr(deviceId: string) {
  const files = writeFiles({});
  const key = join(files.dir, 'key.pem');
  const csr = join(files.dir, 'csr.pem');
  const made = openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-subj',
    `/CN=${deviceId}`,
    '-addext',
    `subjectAltName=URI:urn:vitalgate:device:${deviceId}`,
    '-out',
    csr,
  ]);
  expect(made.status, made.stderr).toBe(0);
  const der = openssl(['req', '-in', csr, '-outform', 'DER']);
  return {
    dir: files.dir,
    keyPem: readFileSync(key, 'utf8'),
    csrPem: readFileSync(csr, 'utf8'),
    derBase64: Buffer.from(
      openssl(['req', '-in', csr, '-outform', 'PEM']).stdout.replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    ).toString('base64'),
    derOk: der.status === 0,
  };
}

async function registerWithToken(id: string, kind = 'pulse_oximeter') {
  const reg = await hub.client.request('POST', '/api/v1/devices', { token: engineer, body: { id, kind } });
  expect(reg.status, reg.text).toBe(201);
  expect(reg.body).toMatchObject({ id, status: 'pending' });
  const tok = await hub.client.request('POST', `/api/v1/devices/${id}/enrollment-token`, { token: engineer });
  expect(tok.status, tok.text).toBe(201);
  return (tok.body as { token: string }).token;
}

describe('enrollment', () => {
  it('a CSR from openssl req, posted with the token, gets a certificate; the token is spent', async () => {
    const token = await registerWithToken('ox-enroll');
    const csr = opensslCsr('ox-enroll');
    const res = await hub.client.request('POST', '/api/v1/enroll', { body: { token, csr: csr.csrPem } });
    expect(res.status, res.text).toBe(201);
    const body = res.body as {
      certificate: string;
      caBundle: string;
      chain: string;
      serial: string;
      commandSigner: string;
      mqtt: { host: string; port: number };
    };
    expect(body.mqtt).toEqual({ host: 'localhost', port: hub.brokerPort });
    const files = writeFiles({
      'cert.pem': body.certificate,
      'ca.pem': body.caBundle,
      'chain.pem': body.chain,
    });
    const verify = openssl(['verify', '-CAfile', files['ca.pem']!, files['cert.pem']!]);
    expect(verify.stdout).toContain('OK');
    const text = openssl([
      'x509',
      '-in',
      files['cert.pem']!,
      '-noout',
      '-subject',
      '-ext',
      'subjectAltName',
    ]).stdout;
    expect(text).toContain('CN = ox-enroll');
    expect(text).toContain('urn:vitalgate:device:ox-enroll');
    expect(body.commandSigner).toContain('BEGIN CERTIFICATE');
    const device = await hub.client.request('GET', '/api/v1/devices/ox-enroll', { token: engineer });
    expect(device.body).toMatchObject({
      status: 'active',
      certificates: [expect.objectContaining({ status: 'active' })],
    });
    const again = await hub.client.request('POST', '/api/v1/enroll', { body: { token, csr: csr.csrPem } });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: 'ENROLLMENT_TOKEN_INVALID' } });

    // Renewal with the device certificate over mutual TLS.
    const next = opensslCsr('ox-enroll');
    const renewed = await hub.client.request('POST', '/api/v1/enroll/renew', {
      body: { csr: next.csrPem },
      cert: body.certificate,
      key: csr.keyPem,
    });
    expect(renewed.status, renewed.text).toBe(201);
    expect((renewed.body as { serial: string }).serial).not.toBe(body.serial);
    const anonymous = await hub.client.request('POST', '/api/v1/enroll/renew', {
      body: { csr: next.csrPem },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'CLIENT_CERTIFICATE_REQUIRED' } });
  });

  it('a CSR for another device id or a weak key is refused before the token is spent', async () => {
    const token = await registerWithToken('ox-wrong');
    const other = opensslCsr('someone-else');
    const res = await hub.client.request('POST', '/api/v1/enroll', { body: { token, csr: other.csrPem } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'CSR_SUBJECT_MISMATCH' } });
    const good = opensslCsr('ox-wrong');
    expect(
      (await hub.client.request('POST', '/api/v1/enroll', { body: { token, csr: good.csrPem } })).status,
    ).toBe(201);
  });
});

describe('EST (RFC 7030)', () => {
  it('cacerts, simpleenroll with HTTP Basic, simplereenroll with the certificate; openssl reads the PKCS#7', async () => {
    const cacerts = await hub.client.request('GET', '/.well-known/est/cacerts');
    expect(cacerts.status).toBe(200);
    expect(cacerts.headers['content-type']).toContain('application/pkcs7-mime');
    const caFiles = writeFiles({ 'ca.p7': Buffer.from(cacerts.text, 'base64') });
    const caCerts = openssl(['pkcs7', '-inform', 'DER', '-in', caFiles['ca.p7']!, '-print_certs', '-noout']);
    expect(caCerts.status).toBe(0);
    expect(caCerts.stdout).toContain('VitalGate Root CA');

    const token = await registerWithToken('bp-est', 'bp_monitor');
    const csr = opensslCsr('bp-est');
    const wrong = await hub.client.request('POST', '/.well-known/est/simpleenroll', {
      rawBody: csr.derBase64,
      headers: {
        'content-type': 'application/pkcs10',
        authorization: `Basic ${Buffer.from('bp-est:vgt_nope_nope_nope_nope').toString('base64')}`,
      },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('Basic');
    const res = await hub.client.request('POST', '/.well-known/est/simpleenroll', {
      rawBody: csr.derBase64,
      headers: {
        'content-type': 'application/pkcs10',
        authorization: `Basic ${Buffer.from(`bp-est:${token}`).toString('base64')}`,
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('application/pkcs7-mime; smime-type=certs-only');
    const files = writeFiles({ 'cert.p7': Buffer.from(res.text, 'base64') });
    const printed = openssl(['pkcs7', '-inform', 'DER', '-in', files['cert.p7']!, '-print_certs']);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('CN = bp-est');
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(printed.stdout)![0];

    const next = opensslCsr('bp-est');
    const re = await hub.client.request('POST', '/.well-known/est/simplereenroll', {
      rawBody: next.derBase64,
      headers: { 'content-type': 'application/pkcs10' },
      cert: certPem,
      key: csr.keyPem,
    });
    expect(re.status, re.text).toBe(200);
    const reFiles = writeFiles({ 'cert.p7': Buffer.from(re.text, 'base64') });
    expect(openssl(['pkcs7', '-inform', 'DER', '-in', reFiles['cert.p7']!, '-print_certs']).stdout).toContain(
      'CN = bp-est',
    );
  });
});

describe('EST csrattrs (RFC 7030 §4.5)', () => {
  it('answers base64 DER of the CsrAttrs SEQUENCE that openssl asn1parse reads: P-256 key, ECDSA-SHA256, a CN', async () => {
    const res = await hub.client.request('GET', '/.well-known/est/csrattrs');
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('application/csrattrs');
    expect(res.headers['content-transfer-encoding']).toBe('base64');
    expect(res.text).toMatch(/^[A-Za-z0-9+/=\r\n]+$/);
    const files = writeFiles({ 'attrs.der': Buffer.from(res.text, 'base64') });
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', files['attrs.der']!]);
    expect(parsed.status, parsed.stderr).toBe(0);
    // depth, constructed/primitive, tag and value of each element, in order.
    const elements = parsed.stdout
      .trim()
      .split('\n')
      .map((line) => /d=(\d+).*?(cons|prim): (.*)$/.exec(line)!)
      .map(([, depth, , rest]) => `${depth} ${rest!.replace(/\s+/g, ' ').trim()}`);
    expect(elements).toEqual([
      '0 SEQUENCE',
      '1 SEQUENCE',
      '2 OBJECT :id-ecPublicKey',
      '2 SET',
      '3 OBJECT :prime256v1',
      '1 OBJECT :ecdsa-with-SHA256',
      '1 OBJECT :commonName',
    ]);
  });
});

describe('lifecycle and the PKI endpoints', () => {
  it('revoke needs a reason, puts the certificate on the CRL, and OCSP says revoked', async () => {
    const creds = await hub.pki.issueDevice('wear-rev', 'wearable');
    const noReason = await hub.client.request('POST', '/api/v1/devices/wear-rev/revoke', {
      token: engineer,
      body: {},
    });
    expect(noReason.status).toBe(400);
    await stepUp(hub, engineerUser); // revoking a patient device is a sensitive action
    const res = await hub.client.request('POST', '/api/v1/devices/wear-rev/revoke', {
      token: engineer,
      body: { reason: 'reported lost by the patient' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: 'revoked', revokedSerials: [creds.serial] });
    expect(hub.pki.store.audit.list({ action: 'device.revoke', limit: 1 })[0]).toMatchObject({
      actor: 'user:eng.pki',
      details: { reason: 'reported lost by the patient' },
    });
    const crl = await hub.client.request('GET', '/pki/crl');
    expect(crl.headers['content-type']).toBe('application/pkix-crl');
    const ca = await hub.client.request('GET', '/pki/ca.pem');
    const files = writeFiles({ 'crl.der': crl.raw, 'ca.pem': ca.text, 'cert.pem': creds.certPem });
    const crlText = openssl(['crl', '-inform', 'DER', '-in', files['crl.der']!, '-noout', '-text']).stdout;
    expect(crlText.toUpperCase()).toContain(creds.serial.toUpperCase().replace(/^0+/, '').slice(0, 8));
    const issuing = writeFiles({ 'issuing.pem': hub.pki.authority.issuingPem });
    const req = openssl([
      'ocsp',
      '-issuer',
      issuing['issuing.pem']!,
      '-cert',
      files['cert.pem']!,
      '-reqout',
      join(files.dir, 'req.der'),
      '-no_nonce',
    ]);
    expect(req.status, req.stderr).toBe(0);
    const answer = await hub.client.request('POST', '/pki/ocsp', {
      rawBody: readFileSync(join(files.dir, 'req.der')),
      headers: { 'content-type': 'application/ocsp-request' },
    });
    expect(answer.headers['content-type']).toBe('application/ocsp-response');
    const out = writeFiles({ 'resp.der': answer.raw });
    const status = openssl([
      'ocsp',
      '-respin',
      out['resp.der']!,
      '-issuer',
      issuing['issuing.pem']!,
      '-cert',
      files['cert.pem']!,
      '-CAfile',
      files['ca.pem']!,
    ]);
    expect(status.stdout).toContain('revoked');
  });
});
