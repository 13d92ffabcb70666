// Signed hub → device commands: the canonical form, and every refusal a device makes.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalCommandJson,
  signCommand,
  verifyCommand,
  type SignedCommand,
  type UnsignedCommand,
} from '../../../pki/command-signature.js';
import { exportPkcs8, generateKeyPair } from '../../../pki/crypto-provider.js';
import { issueCertificate } from '../../../pki/profiles.js';
import { createTestCa, type TestCa } from './ca-fixture.js';

let ca: TestCa;
let signerKey: KeyObject;
let signerPem: string;

async function commandSigner(): Promise<{ key: KeyObject; pem: string }> {
  const keys = await generateKeyPair('P-256');
  const cert = await issueCertificate({
    profile: 'command-signer',
    subject: 'VitalGate Command Signer',
    publicKey: keys.publicKey,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
  });
  return {
    key: createPrivateKey({ key: await exportPkcs8(keys.privateKey), format: 'der', type: 'pkcs8' }),
    pem: cert.pem,
  };
}

beforeAll(async () => {
  ca = await createTestCa();
  ({ key: signerKey, pem: signerPem } = await commandSigner());
});

const now = 1_800_000_000_000;
const wipe: UnsignedCommand = {
  id: 'cmd-1',
  type: 'wipe',
  issuedAt: now,
  expiresAt: now + 60_000,
  params: { reason: 'lost', scope: { key: true, buffer: true }, retries: [1, 2.5, -3] },
};
const fresh = () => ({ now, seenIds: new Set<string>() });

describe('canonical form', () => {
  it('sorts members at every depth, leaves out sig, and writes no whitespace', () => {
    const text = canonicalCommandJson({ ...wipe, sig: 'x' });
    expect(text).toBe(
      '{"expiresAt":1800000060000,"id":"cmd-1","issuedAt":1800000000000,"params":{"reason":"lost","retries":[1,2.5,-3],"scope":{"buffer":true,"key":true}},"type":"wipe"}',
    );
  });

  it('does not depend on member order, so a re-serialised command still verifies', () => {
    const signed = signCommand(wipe, signerKey);
    const reordered = JSON.parse(
      JSON.stringify({
        sig: signed.sig,
        params: { scope: { buffer: true, key: true }, retries: [1, 2.5, -3], reason: 'lost' },
        type: 'wipe',
        expiresAt: wipe.expiresAt,
        id: 'cmd-1',
        issuedAt: now,
      }),
    ) as unknown;
    expect(verifyCommand(reordered, signerPem, fresh())).toMatchObject({ ok: true });
  });

  it('refuses to sign values JSON cannot carry', () => {
    for (const params of [{ n: Number.NaN }, { n: Infinity }, { d: new Date() }, { f: () => 1 }, { b: 1n }]) {
      expect(() => signCommand({ ...wipe, params } as UnsignedCommand, signerKey)).toThrow(
        expect.objectContaining({ code: 'COMMAND_MALFORMED' }),
      );
    }
  });
});

describe('signCommand / verifyCommand', () => {
  it('a signed command verifies against the command-signer certificate', () => {
    const signed = signCommand(wipe, signerKey);
    expect(signed.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyCommand(signed, signerPem, fresh())).toEqual({ ok: true, command: signed });
  });

  it('a tampered param, type, time or added member: COMMAND_SIGNATURE_INVALID', () => {
    const signed = signCommand(wipe, signerKey);
    const tampered: unknown[] = [
      { ...signed, params: { ...signed.params, reason: 'stolen' } },
      { ...signed, params: { ...signed.params, scope: { key: true, buffer: false } } },
      { ...signed, type: 'ping' },
      { ...signed, expiresAt: signed.expiresAt + 1 },
      { ...signed, id: 'cmd-2' },
      { ...signed, aud: 'wear-001' },
      { ...signed, extra: true },
      { ...signed, sig: `${signed.sig[0] === 'A' ? 'B' : 'A'}${signed.sig.slice(1)}` },
      { ...signed, sig: 'not-a-signature' },
    ];
    for (const c of tampered) {
      expect(verifyCommand(c, signerPem, fresh())).toEqual({ ok: false, code: 'COMMAND_SIGNATURE_INVALID' });
    }
  });

  it('expired, and not yet valid beyond the clock skew allowance', () => {
    const signed = signCommand(wipe, signerKey);
    expect(verifyCommand(signed, signerPem, { ...fresh(), now: wipe.expiresAt })).toMatchObject({
      code: 'COMMAND_EXPIRED',
    });
    expect(verifyCommand(signed, signerPem, { ...fresh(), now: now - 299_000 })).toMatchObject({ ok: true });
    expect(verifyCommand(signed, signerPem, { ...fresh(), now: now - 301_000 })).toMatchObject({
      code: 'COMMAND_NOT_YET_VALID',
    });
  });

  it('a replayed id: COMMAND_REPLAYED', () => {
    const signed = signCommand(wipe, signerKey);
    expect(verifyCommand(signed, signerPem, { now, seenIds: new Set(['cmd-1']) })).toMatchObject({
      code: 'COMMAND_REPLAYED',
    });
  });

  it('signed by another key, or checked against a certificate that is not a P-256 signer', async () => {
    const other = await commandSigner();
    const forged = signCommand(wipe, other.key);
    expect(verifyCommand(forged, signerPem, fresh())).toMatchObject({ code: 'COMMAND_SIGNATURE_INVALID' });
    expect(verifyCommand(signCommand(wipe, signerKey), ca.root.pem, fresh())).toMatchObject({
      code: 'COMMAND_SIGNATURE_INVALID',
    });
    expect(verifyCommand(signCommand(wipe, signerKey), 'not a certificate', fresh())).toMatchObject({
      code: 'COMMAND_SIGNATURE_INVALID',
    });
  });

  it('only signs with a P-256 private key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    for (const key of [rsa, p384]) {
      expect(() => signCommand(wipe, key)).toThrow(expect.objectContaining({ code: 'KEY_UNSUPPORTED' }));
    }
  });

  it('a command addressed to another device: COMMAND_WRONG_DEVICE', () => {
    const signed = signCommand({ ...wipe, aud: 'wear-001' }, signerKey);
    expect(verifyCommand(signed, signerPem, { ...fresh(), deviceId: 'wear-001' })).toMatchObject({
      ok: true,
    });
    expect(verifyCommand(signed, signerPem, { ...fresh(), deviceId: 'wear-002' })).toMatchObject({
      code: 'COMMAND_WRONG_DEVICE',
    });
  });

  it('anything not shaped like a command: COMMAND_MALFORMED', () => {
    const signed: SignedCommand = signCommand(wipe, signerKey);
    const malformed: unknown[] = [
      'garbage',
      null,
      [],
      { ...signed, type: 'format-disk' },
      { ...signed, id: '' },
      { ...signed, issuedAt: '1800000000000' },
      { ...signed, expiresAt: now - 1 },
      { ...signed, params: [] },
      { ...signed, params: null },
      { ...signed, aud: 7 },
    ];
    for (const c of malformed)
      expect(verifyCommand(c, signerPem, fresh())).toMatchObject({ code: 'COMMAND_MALFORMED' });
  });
});
