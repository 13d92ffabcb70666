// One place that sets up @peculiar/x509 on Node's WebCrypto, and the key operations the CA
// needs. Private keys leave this module only as PKCS#8 bytes, which the caller seals.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export type CurveName = 'P-256' | 'P-384';

export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function ecKeyAlgorithm(curve: CurveName = 'P-256'): EcKeyGenParams {
  return { name: 'ECDSA', namedCurve: curve };
}

export async function generateKeyPair(curve: CurveName = 'P-256'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ecKeyAlgorithm(curve), true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function exportPkcs8(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('pkcs8', key));
}

export async function importPkcs8(der: Buffer, curve: CurveName = 'P-256'): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', new Uint8Array(der), ecKeyAlgorithm(curve), false, ['sign']);
}

export function pkcs8ToPem(der: Buffer): string {
  return x509.PemConverter.encode(new Uint8Array(der), 'PRIVATE KEY');
}
