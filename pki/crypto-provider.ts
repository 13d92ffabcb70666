// One place that sets up @peculiar/x509 on Node's WebCrypto, and the key operations the CA
// needs. Private keys enter and leave this module only as PKCS#8 DER bytes, which the caller
// seals at rest; nothing here logs or stores them.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, createPrivateKey, webcrypto } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export type CurveName = 'P-256' | 'P-384';

/** The default for CSRs and the hub's own P-256 keys. */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The hash that matches each curve's strength (RFC 5480 §4): SHA-256 for P-256, SHA-384 for P-384. */
export const CURVE_HASH: Readonly<Record<CurveName, 'SHA-256' | 'SHA-384'>> = {
  'P-256': 'SHA-256',
  'P-384': 'SHA-384',
};

const OPENSSL_CURVES: Readonly<Record<string, CurveName>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

export function ecKeyAlgorithm(curve: CurveName = 'P-256'): EcKeyGenParams {
  return { name: 'ECDSA', namedCurve: curve };
}

/** A new ECDSA key pair; the private key is extractable so it can be exported and sealed. */
export async function generateKeyPair(curve: CurveName = 'P-256'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ecKeyAlgorithm(curve), true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function exportPkcs8(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('pkcs8', key));
}

/** The curve of an ECDSA private key in PKCS#8 DER; KEY_UNSUPPORTED for anything else. */
export function pkcs8Curve(der: Uint8Array): CurveName {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw new VitalGateError('KEY_UNSUPPORTED', 'the private key is not PKCS#8 DER');
  }
  const curve = OPENSSL_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (key.asymmetricKeyType !== 'ec' || !curve) {
    throw new VitalGateError('KEY_UNSUPPORTED', 'CA keys must be ECDSA P-256 or P-384');
  }
  return curve;
}

/**
 * Imports a PKCS#8 DER ECDSA private key as a non-extractable signing key. The curve is read from
 * the key; when `curve` is given the key must be on it.
 */
export async function importPkcs8(der: Uint8Array, curve?: CurveName): Promise<CryptoKey> {
  const actual = pkcs8Curve(der);
  if (curve && curve !== actual) {
    throw new VitalGateError('KEY_UNSUPPORTED', `expected a ${curve} key, got ${actual}`);
  }
  return subtle.importKey('pkcs8', new Uint8Array(der), ecKeyAlgorithm(actual), false, ['sign']);
}

export function pkcs8ToPem(der: Uint8Array): string {
  return x509.PemConverter.encode(new Uint8Array(der), 'PRIVATE KEY');
}

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * The node:crypto view of a WebCrypto key (same key material, no export). Certificates are signed
 * through it synchronously: about four times the rate of an awaited `subtle.sign` here.
 */
export function asKeyObject(key: CryptoKey | KeyObject): KeyObject {
  if (key instanceof KeyObject) return key;
  let object = keyObjects.get(key);
  if (!object) {
    object = KeyObject.from(key);
    keyObjects.set(key, object);
  }
  return object;
}

/** The curve of an ECDSA key (private or public), or undefined for other keys. */
export function curveOf(key: CryptoKey | KeyObject): CurveName | undefined {
  const object = asKeyObject(key);
  if (object.asymmetricKeyType !== 'ec') return undefined;
  return OPENSSL_CURVES[object.asymmetricKeyDetails?.namedCurve ?? ''];
}
