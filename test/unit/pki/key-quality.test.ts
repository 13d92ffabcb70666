// Key-quality gates and the key handling of the crypto provider.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  asKeyObject,
  curveOf,
  exportPkcs8,
  generateKeyPair,
  importPkcs8,
  pkcs8Curve,
  subtle,
} from '../../../pki/crypto-provider.js';
import { assessPublicKey } from '../../../pki/key-quality.js';

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const refusal = (key: KeyObject) => {
  try {
    assessPublicKey(spki(key));
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
};

describe('assessPublicKey', () => {
  it('accepts ECDSA P-256 and P-384, from DER or a KeyObject', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(assessPublicKey(spki(p256))).toEqual({ type: 'ec', curve: 'P-256' });
    expect(assessPublicKey(p256)).toEqual({ type: 'ec', curve: 'P-256' });
    expect(assessPublicKey(spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey))).toEqual({
      type: 'ec',
      curve: 'P-384',
    });
  });

  it('refuses other curves with CSR_KEY_CURVE_UNSUPPORTED', () => {
    for (const curve of ['secp256k1', 'P-521', 'brainpoolP256r1', 'prime192v1']) {
      expect(refusal(generateKeyPairSync('ec', { namedCurve: curve }).publicKey)).toBe(
        'CSR_KEY_CURVE_UNSUPPORTED',
      );
    }
  });

  it('accepts RSA 2048, refuses RSA below 2048 with CSR_KEY_TOO_WEAK', () => {
    expect(assessPublicKey(spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey))).toEqual({
      type: 'rsa',
      bits: 2048,
      publicExponent: 65537n,
    });
    expect(refusal(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toBe('CSR_KEY_TOO_WEAK');
    expect(refusal(generateKeyPairSync('rsa', { modulusLength: 2040 }).publicKey)).toBe('CSR_KEY_TOO_WEAK');
  });

  it('checks the RSA public exponent: odd, at least 65537, below 2^256', () => {
    const n = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }).n!;
    const withExponent = (e: bigint) => {
      let h = e.toString(16);
      if (h.length % 2) h = `0${h}`;
      return createPublicKey({
        key: { kty: 'RSA', n, e: Buffer.from(h, 'hex').toString('base64url') },
        format: 'jwk',
      });
    };
    expect(refusal(withExponent(3n))).toBe('CSR_KEY_TOO_WEAK');
    expect(refusal(withExponent(65535n))).toBe('CSR_KEY_TOO_WEAK');
    expect(refusal(withExponent(65538n))).toBe('CSR_KEY_TOO_WEAK');
    expect(refusal(withExponent((1n << 256n) + 1n))).toBe('CSR_KEY_TOO_WEAK');
    expect(refusal(withExponent(65537n))).toBe('accepted');
    expect(refusal(withExponent((1n << 255n) + 1n))).toBe('accepted');
  });

  it('refuses RSA moduli above 8192 bits (signature checks would be a DoS lever)', () => {
    const n = Buffer.concat([Buffer.from([0xc0]), randomBytes(1024)]);
    n[n.length - 1]! |= 1;
    const big = createPublicKey({
      key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' },
      format: 'jwk',
    });
    expect(big.asymmetricKeyDetails?.modulusLength).toBe(8200);
    expect(refusal(big)).toBe('CSR_KEY_UNSUPPORTED');
  });

  it('refuses Ed25519, Ed448, X25519, DSA and RSA-PSS keys with CSR_KEY_UNSUPPORTED', () => {
    expect(refusal(generateKeyPairSync('ed25519').publicKey)).toBe('CSR_KEY_UNSUPPORTED');
    expect(refusal(generateKeyPairSync('ed448').publicKey)).toBe('CSR_KEY_UNSUPPORTED');
    expect(refusal(generateKeyPairSync('x25519').publicKey)).toBe('CSR_KEY_UNSUPPORTED');
    expect(refusal(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey)).toBe(
      'CSR_KEY_UNSUPPORTED',
    );
    expect(refusal(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey)).toBe(
      'CSR_KEY_UNSUPPORTED',
    );
  });

  it('refuses garbage with CSR_KEY_UNSUPPORTED', () => {
    expect(() => assessPublicKey(Buffer.from('not a key'))).toThrow(
      expect.objectContaining({ code: 'CSR_KEY_UNSUPPORTED' }),
    );
  });
});

describe('crypto provider', () => {
  it('round-trips P-256 and P-384 private keys through PKCS#8 DER, reading the curve from the key', async () => {
    for (const curve of ['P-256', 'P-384'] as const) {
      const keys = await generateKeyPair(curve);
      const der = await exportPkcs8(keys.privateKey);
      expect(pkcs8Curve(der)).toBe(curve);
      const imported = await importPkcs8(der);
      expect(imported.extractable).toBe(false);
      expect(curveOf(imported)).toBe(curve);
      const data = Buffer.from('vitalgate');
      const hash = curve === 'P-256' ? 'SHA-256' : 'SHA-384';
      const sig = await subtle.sign({ name: 'ECDSA', hash }, imported, data);
      expect(await subtle.verify({ name: 'ECDSA', hash }, keys.publicKey, sig, data)).toBe(true);
      // The node:crypto view signs with the same key material.
      const nodeSig = sign(hash.replace('-', '').toLowerCase(), data, asKeyObject(imported));
      expect(verify(hash.replace('-', '').toLowerCase(), data, asKeyObject(keys.publicKey), nodeSig)).toBe(
        true,
      );
    }
  });

  it('refuses a key on the wrong curve, a non-EC key and garbage with KEY_UNSUPPORTED', async () => {
    const p384 = await exportPkcs8((await generateKeyPair('P-384')).privateKey);
    await expect(importPkcs8(p384, 'P-256')).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'der',
    });
    await expect(importPkcs8(rsa)).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
    await expect(importPkcs8(Buffer.from('garbage'))).rejects.toMatchObject({ code: 'KEY_UNSUPPORTED' });
  });
});
