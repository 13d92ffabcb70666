// Key-quality gates for public keys presented in CSRs, also applied by the deployment checks to
// every active certificate: ECDSA P-256 and P-384, or RSA of 2048 to 8192 bits with a sane public
// exponent and without the ROCA fingerprint. Everything else is refused with a coded reason.
//
// Ed25519 is refused on purpose (CSR_KEY_UNSUPPORTED): SPEC §3 names P-256, P-384 and RSA, the
// device TLS stacks and secure elements we target (mbedTLS, ATECC608, SE050 profiles) do not
// all carry Ed25519 client certificates, and TLS 1.2 peers cannot use it at all.
import { KeyObject, createPublicKey } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';
import { hasRocaFingerprint } from './roca.js';

export type KeyDescription =
  { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; bits: number; publicExponent: bigint };

const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

export const RSA_MIN_BITS = 2048;
/** Larger keys buy nothing for a device and make every signature check a denial-of-service lever. */
export const RSA_MAX_BITS = 8192;
/** FIPS 186-5 / SP 800-56B: 2^16 < e < 2^256, odd. */
const RSA_MIN_EXPONENT = 65537n;
const RSA_MAX_EXPONENT = 1n << 256n;

/** Reads a SubjectPublicKeyInfo (DER) with OpenSSL; CSR_KEY_UNSUPPORTED when it cannot. */
export function readPublicKey(spki: ArrayBuffer | Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki as ArrayBuffer), format: 'der', type: 'spki' });
  } catch {
    throw new VitalGateError('CSR_KEY_UNSUPPORTED', 'the public key could not be read');
  }
}

/** The RSA modulus of a public key, as a bigint. */
export function rsaModulus(key: KeyObject): bigint {
  const n = key.export({ format: 'jwk' }).n ?? '';
  return BigInt(`0x${Buffer.from(n, 'base64url').toString('hex') || '0'}`);
}

/**
 * Describes and gates a public key: SubjectPublicKeyInfo DER, or a KeyObject already read.
 * Throws a coded VitalGateError when the key is refused.
 */
export function assessPublicKey(spki: ArrayBuffer | Uint8Array | KeyObject): KeyDescription {
  const key = spki instanceof KeyObject ? spki : readPublicKey(spki);
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = CURVES[details.namedCurve ?? ''];
      if (!curve) {
        throw new VitalGateError(
          'CSR_KEY_CURVE_UNSUPPORTED',
          `elliptic curve ${details.namedCurve ?? 'unknown'} is not accepted; use P-256 or P-384`,
          { curve: details.namedCurve ?? 'unknown' },
        );
      }
      return { type: 'ec', curve };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      const publicExponent = details.publicExponent ?? 0n;
      if (bits < RSA_MIN_BITS) {
        throw new VitalGateError(
          'CSR_KEY_TOO_WEAK',
          `RSA keys need at least ${RSA_MIN_BITS} bits (got ${bits})`,
          {
            bits,
          },
        );
      }
      if (bits > RSA_MAX_BITS) {
        throw new VitalGateError(
          'CSR_KEY_UNSUPPORTED',
          `RSA keys above ${RSA_MAX_BITS} bits are not accepted`,
          {
            bits,
          },
        );
      }
      if (
        publicExponent < RSA_MIN_EXPONENT ||
        publicExponent >= RSA_MAX_EXPONENT ||
        publicExponent % 2n === 0n
      ) {
        throw new VitalGateError(
          'CSR_KEY_TOO_WEAK',
          'the RSA public exponent must be odd, at least 65537 and below 2^256',
          {
            reason: 'EXPONENT',
          },
        );
      }
      if (hasRocaFingerprint(rsaModulus(key))) {
        throw new VitalGateError(
          'CSR_KEY_TOO_WEAK',
          'the RSA key carries the ROCA fingerprint (CVE-2017-15361)',
          {
            reason: 'ROCA',
          },
        );
      }
      return { type: 'rsa', bits, publicExponent };
    }
    default:
      throw new VitalGateError(
        'CSR_KEY_UNSUPPORTED',
        `${key.asymmetricKeyType ?? 'unknown'} keys are not accepted; use ECDSA P-256/P-384 or RSA ≥ 2048`,
        { type: key.asymmetricKeyType ?? 'unknown' },
      );
  }
}
