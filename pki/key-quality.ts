// Key-quality gates for public keys presented in CSRs, and for the deployment checks:
// ECDSA P-256 and P-384, or RSA of at least 2048 bits with a sane public exponent. Anything else
// is refused with a coded reason.
import { createPublicKey } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';

export type KeyDescription =
  { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; bits: number; publicExponent: bigint };

const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** Describes and gates a SubjectPublicKeyInfo (DER). Throws a coded VitalGateError when refused. */
export function assessPublicKey(spki: ArrayBuffer | Buffer): KeyDescription {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(spki as ArrayBuffer), format: 'der', type: 'spki' });
  } catch {
    throw new VitalGateError('CSR_KEY_UNSUPPORTED', 'the public key could not be read');
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = CURVES[details.namedCurve ?? ''];
      if (!curve) {
        throw new VitalGateError(
          'CSR_KEY_CURVE_UNSUPPORTED',
          `elliptic curve ${details.namedCurve ?? 'unknown'} is not accepted; use P-256 or P-384`,
        );
      }
      return { type: 'ec', curve };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      const publicExponent = details.publicExponent ?? 0n;
      if (bits < 2048) {
        throw new VitalGateError('CSR_KEY_TOO_WEAK', `RSA keys need at least 2048 bits (got ${bits})`);
      }
      if (publicExponent < 65537n || publicExponent % 2n === 0n) {
        throw new VitalGateError('CSR_KEY_TOO_WEAK', 'RSA public exponent must be odd and at least 65537');
      }
      return { type: 'rsa', bits, publicExponent };
    }
    default:
      throw new VitalGateError(
        'CSR_KEY_UNSUPPORTED',
        `${key.asymmetricKeyType ?? 'unknown'} keys are not accepted; use ECDSA P-256/P-384 or RSA ≥ 2048`,
      );
  }
}
