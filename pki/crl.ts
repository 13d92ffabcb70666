// Certificate revocation lists (RFC 5280 v2): CRL number, AKI, thisUpdate/nextUpdate and entries
// with reason codes, signed by the issuing CA. OpenSSL reads the PEM form.
import type { RevocationReason } from '../core/store/certificates.js';
import { SIGNING_ALGORITHM, x509 } from './crypto-provider.js';
import type { Issuer } from './profiles.js';

const CRL_NUMBER_OID = '2.5.29.20';

export interface RevokedEntry {
  serial: string;
  revokedAt: number;
  reason: RevocationReason;
}

export interface RevocationList {
  number: number;
  thisUpdate: number;
  nextUpdate: number;
  der: Buffer;
  pem: string;
}

/** DER INTEGER for a non-negative safe integer. */
function derInteger(value: number): ArrayBuffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}

export async function buildRevocationList(params: {
  issuer: Issuer;
  number: number;
  entries: readonly RevokedEntry[];
  now: number;
  validityMs: number;
}): Promise<RevocationList> {
  const thisUpdate = params.now;
  const nextUpdate = params.now + params.validityMs;
  const crl = await x509.X509CrlGenerator.create({
    issuer: params.issuer.certificate.subject,
    thisUpdate: new Date(thisUpdate),
    nextUpdate: new Date(nextUpdate),
    signingAlgorithm: SIGNING_ALGORITHM,
    signingKey: params.issuer.key,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(params.issuer.certificate),
      new x509.Extension(CRL_NUMBER_OID, false, derInteger(params.number)),
    ],
    entries: params.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: new Date(e.revokedAt),
      reason: x509.X509CrlReason[e.reason],
    })),
  });
  const der = Buffer.from(crl.rawData);
  return {
    number: params.number,
    thisUpdate,
    nextUpdate,
    der,
    pem: x509.PemConverter.encode(Uint8Array.from(der), 'X509 CRL'),
  };
}
