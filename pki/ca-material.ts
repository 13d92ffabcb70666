// The CA's keys and certificates at rest (pki_material, keys sealed under the master key) and
// which issuing CAs are in service: the current one, and after a rotation (issuer-rotation.ts)
// the previous one until its overlap ends.
import { VitalGateError } from '../core/errors.js';
import type { AuthorityDeps } from './authority.js';
import { importPkcs8, x509 } from './crypto-provider.js';
import type { Issuer } from './issuer.js';
import { normalizeSerial, type PkiUrls } from './profiles.js';

/** The overlap's end (ms) of the previous issuing CA. */
export const ISSUER_OVERLAP_UNTIL_KEY = 'issuer_overlap_until';
/** The issuing CA whose certificates carry the bare /pki/crl URL (set at the first rotation). */
export const CRL_BARE_ISSUER_KEY = 'crl_bare_issuer';
export const PREVIOUS_ISSUING = 'issuing-previous';

export interface Material {
  certificate: x509.X509Certificate;
  pkcs8: Buffer;
}

export type IssuingCa = Issuer & { pkcs8: Buffer; serial: string };

/** The issuing CA before the last rotation, trusted until `overlapUntil`. */
export interface PreviousIssuer {
  issuer: IssuingCa;
  overlapUntil: number;
}

/**
 * The URLs for certificates of the issuing CA `issuerSerial`: the CRL URL names the issuer
 * (`?issuer=<serial>`), except for the issuing CA whose certificates carry the bare URL (the one
 * before the first rotation).
 */
export function issuerUrls(
  bareIssuer: string | undefined,
  issuerSerial: string,
  urls: PkiUrls | undefined,
): PkiUrls | undefined {
  if (!urls || bareIssuer === undefined || bareIssuer === issuerSerial) return urls;
  return { ...urls, crl: `${urls.crl}?issuer=${issuerSerial}` };
}

/** An issuing CA's certificate and key from pki_material. */
export async function loadIssuingCa(deps: AuthorityDeps, name: string): Promise<IssuingCa> {
  const material = loadMaterial(deps, name);
  return {
    certificate: material.certificate,
    key: await importPkcs8(material.pkcs8, 'P-256'),
    pkcs8: material.pkcs8,
    serial: normalizeSerial(material.certificate.serialNumber),
  };
}

/** The previous issuing CA of the last rotation, unless it was retired by an earlier run. */
export async function loadPrevious(deps: AuthorityDeps): Promise<PreviousIssuer | undefined> {
  const until = deps.store.meta.get(ISSUER_OVERLAP_UNTIL_KEY);
  if (until === undefined || !deps.store.pkiMaterial.get(PREVIOUS_ISSUING)) return undefined;
  const issuer = await loadIssuingCa(deps, PREVIOUS_ISSUING);
  if (deps.store.certificates.get(issuer.serial)?.status === 'revoked') return undefined;
  return { issuer, overlapUntil: Number(until) };
}

export function loadMaterial(deps: AuthorityDeps, name: string): Material {
  const record = deps.store.pkiMaterial.get(name);
  if (!record)
    throw new VitalGateError('NOT_INITIALIZED', `PKI material ${name} is missing: run "vitalgate init"`);
  return {
    certificate: new x509.X509Certificate(record.certificatePem),
    pkcs8: deps.keyring.openSecret(`pki:${name}`, record.sealedKey),
  };
}
