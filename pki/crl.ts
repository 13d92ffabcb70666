// Certificate revocation lists (RFC 5280 §5, v2): CRL number, AKI, thisUpdate/nextUpdate and
// entries with reason codes, signed by the issuing CA and written with the DER encoder. OpenSSL
// reads the PEM form ("X509 CRL").
import { VitalGateError } from '../core/errors.js';
import { x509 } from './crypto-provider.js';
import { contextConstructed, integer, oid, sequence, tlv, time, TAG, bitString } from './der.js';
import { describeIssuer, signAsIssuer, type Issuer } from './issuer.js';
import { authorityKeyIdentifier, extension } from './x509-encoding.js';

const CRL_NUMBER_OID = '2.5.29.20';
const REASON_CODE_OID = '2.5.29.21';

/** RFC 5280 §5.3.1 CRLReason codes (removeFromCRL is for delta CRLs, which we do not publish). */
export const CRL_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type CrlReason = keyof typeof CRL_REASON_CODES;

export interface RevokedEntry {
  /** Certificate serial, hex. */
  serial: string;
  revokedAt: number;
  reason: CrlReason;
}

export interface RevocationList {
  number: number;
  thisUpdate: number;
  nextUpdate: number;
  der: Buffer;
  pem: string;
}

const SECOND = 1000;
const floorSecond = (ms: number) => new Date(Math.floor(ms / SECOND) * SECOND);

function entry(e: RevokedEntry): Uint8Array {
  const serial = e.serial.toLowerCase().replace(/^(00)+/, '');
  if (!/^[0-9a-f]{1,40}$/.test(serial)) {
    throw new VitalGateError('CRL_ENTRY_INVALID', 'a revoked serial is not 1 to 20 octets of hex');
  }
  const code = CRL_REASON_CODES[e.reason];
  if (code === undefined) throw new VitalGateError('CRL_ENTRY_INVALID', 'unknown revocation reason');
  // RFC 5280 §5.3.1: the reason code unspecified SHOULD be absent.
  const extensions =
    code === 0 ? [] : [sequence(extension(REASON_CODE_OID, false, tlv(TAG.ENUMERATED, Uint8Array.of(code))))];
  return sequence(
    integer(Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex')),
    time(floorSecond(e.revokedAt)),
    ...extensions,
  );
}

/** Builds and signs a CRL. `number` is the monotonically increasing CRL number. */
export async function buildRevocationList(params: {
  issuer: Issuer;
  number: number;
  entries: readonly RevokedEntry[];
  now: number;
  validityMs: number;
}): Promise<RevocationList> {
  if (!Number.isSafeInteger(params.number) || params.number < 0) {
    throw new VitalGateError('CRL_NUMBER_INVALID', 'the CRL number must be a non-negative integer');
  }
  if (!(params.validityMs > 0))
    throw new VitalGateError('CRL_VALIDITY_INVALID', 'nextUpdate must follow thisUpdate');
  const seen = new Set<string>();
  for (const e of params.entries) {
    const key = e.serial.toLowerCase().replace(/^(00)+/, '');
    if (seen.has(key)) throw new VitalGateError('CRL_ENTRY_INVALID', 'a serial is listed twice');
    seen.add(key);
  }
  const issuer = describeIssuer(params.issuer);
  const thisUpdate = floorSecond(params.now);
  const nextUpdate = floorSecond(params.now + params.validityMs);
  const algorithm = sequence(oid(issuer.signatureAlgorithm.oid));
  const tbs = sequence(
    integer(1), // v2
    algorithm,
    issuer.name,
    time(thisUpdate),
    time(nextUpdate),
    ...(params.entries.length ? [sequence(...params.entries.map(entry))] : []),
    contextConstructed(
      0,
      sequence(
        authorityKeyIdentifier(issuer.keyId),
        extension(CRL_NUMBER_OID, false, integer(params.number)),
      ),
    ),
  );
  const der = sequence(tbs, algorithm, bitString(signAsIssuer(issuer, tbs)));
  return {
    number: params.number,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
    der: Buffer.from(der),
    pem: `${x509.PemConverter.encode(der, 'X509 CRL')}\n`,
  };
}
