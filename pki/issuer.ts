// The signing side of the CA: an issuer certificate with its private key, checked once (it is a
// CA, the key is the certificate's), and the facts every signed object copies from it: the
// subject Name byte for byte, the key identifier for AKI, its expiry, and the signature algorithm
// matching its curve. Used for certificates, CRLs and OCSP responses alike.
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';
import { asKeyObject, curveOf, x509 } from './crypto-provider.js';
import { OID, readCertificateParts, readSubjectPublicKeyInfo } from './x509-encoding.js';

export interface Issuer {
  certificate: x509.X509Certificate;
  /** The issuer's private key: ECDSA P-256 or P-384. */
  key: CryptoKey | KeyObject;
}

export interface SignatureAlgorithm {
  /** ecdsa-with-SHA256 or ecdsa-with-SHA384. */
  oid: string;
  /** node:crypto digest name. */
  hash: 'sha256' | 'sha384';
  /** WebCrypto hash name. */
  webHash: 'SHA-256' | 'SHA-384';
}

export interface IssuerFacts {
  /** The issuer certificate's subject Name, DER, exactly as in the certificate. */
  name: Uint8Array;
  /** Its subject key identifier: the AKI of everything it signs. */
  keyId: Uint8Array;
  notAfter: number;
  signatureAlgorithm: SignatureAlgorithm;
  signingKey: KeyObject;
}

export function signatureAlgorithmFor(key: CryptoKey | KeyObject): SignatureAlgorithm {
  switch (curveOf(key)) {
    case 'P-256':
      return { oid: OID.ecdsaWithSha256, hash: 'sha256', webHash: 'SHA-256' };
    case 'P-384':
      return { oid: OID.ecdsaWithSha384, hash: 'sha384', webHash: 'SHA-384' };
    default:
      throw new VitalGateError('KEY_UNSUPPORTED', 'issuer keys must be ECDSA P-256 or P-384');
  }
}

const certificateFacts = new WeakMap<
  x509.X509Certificate,
  Omit<IssuerFacts, 'signatureAlgorithm' | 'signingKey'>
>();
const matchingKeys = new WeakMap<x509.X509Certificate, WeakSet<KeyObject>>();

/**
 * What signing with this issuer needs. Throws PROFILE_ISSUER_NOT_CA when the certificate is not
 * a CA, PROFILE_ISSUER_KEY_MISMATCH when the key is not the certificate's. Cached per certificate
 * and key, so the checks run once.
 */
export function describeIssuer(issuer: Issuer): IssuerFacts {
  const cert = issuer.certificate;
  const signingKey = asKeyObject(issuer.key);
  let facts = certificateFacts.get(cert);
  if (!facts) {
    if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca) {
      throw new VitalGateError('PROFILE_ISSUER_NOT_CA', 'the issuer certificate is not a CA');
    }
    const { subject, spki } = readCertificateParts(new Uint8Array(cert.rawData));
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    facts = {
      name: subject,
      keyId: ski ? Buffer.from(ski.keyId, 'hex') : readSubjectPublicKeyInfo(spki).keyId,
      notAfter: cert.notAfter.getTime(),
    };
    certificateFacts.set(cert, facts);
  }
  let keys = matchingKeys.get(cert);
  if (!keys?.has(signingKey)) {
    const { spki } = readCertificateParts(new Uint8Array(cert.rawData));
    const own = createPublicKey(signingKey).export({ type: 'spki', format: 'der' });
    if (!Buffer.from(spki).equals(own)) {
      throw new VitalGateError(
        'PROFILE_ISSUER_KEY_MISMATCH',
        'the issuer key does not match its certificate',
      );
    }
    if (!keys) matchingKeys.set(cert, (keys = new WeakSet()));
    keys.add(signingKey);
  }
  return { ...facts, signatureAlgorithm: signatureAlgorithmFor(signingKey), signingKey };
}

/** ECDSA signature (DER Ecdsa-Sig-Value) over `data`, with the issuer's algorithm. */
export function signAsIssuer(
  facts: Pick<IssuerFacts, 'signatureAlgorithm' | 'signingKey'>,
  data: Uint8Array,
): Buffer {
  return sign(facts.signatureAlgorithm.hash, data, { key: facts.signingKey, dsaEncoding: 'der' });
}
