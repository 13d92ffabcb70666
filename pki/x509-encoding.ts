// How an X.509 v3 certificate (RFC 5280) is written: names, the extensions our profiles use and
// the TBSCertificate/Certificate envelopes, in DER. What goes *into* a certificate is decided in
// profiles.ts; this file only knows the encodings. Issuer names and subject public keys are
// copied byte for byte from the issuer certificate and the (already gated) request.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  DerError,
  type Bytes,
  TAG,
  bitString,
  boolean,
  children,
  content,
  decodeOid,
  contextConstructed,
  contextPrimitive,
  encoded,
  expectTag,
  ia5Content,
  integer,
  octetString,
  oid,
  readSingle,
  sequence,
  setOf,
  time,
  utf8String,
} from './der.js';

export const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  accessOcsp: '1.3.6.1.5.5.7.48.1',
  accessCaIssuers: '1.3.6.1.5.5.7.48.2',
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** RFC 5280 §4.2.1.3 KeyUsage bit positions. */
export const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsage = keyof typeof KEY_USAGE_BITS;

export type GeneralName =
  { type: 'uri'; value: string } | { type: 'dns'; value: string } | { type: 'ip'; value: string };

/** A Name as an ordered list of single-valued RDNs (most significant first), UTF8String values. */
export function encodeName(rdns: ReadonlyArray<readonly [oid: string, value: string]>): Bytes {
  return sequence(...rdns.map(([type, value]) => setOf(sequence(oid(type), utf8String(value)))));
}

export function extension(type: string, critical: boolean, value: Uint8Array): Bytes {
  // critical BOOLEAN DEFAULT FALSE: DER omits the default.
  return critical
    ? sequence(oid(type), boolean(true), octetString(value))
    : sequence(oid(type), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Bytes {
  const body = ca ? [boolean(true), ...(pathLength === undefined ? [] : [integer(pathLength)])] : [];
  return extension(OID.basicConstraints, true, sequence(...body));
}

export function keyUsage(usages: readonly KeyUsage[]): Bytes {
  let bits = 0;
  for (const u of usages) bits |= 0x80 >> KEY_USAGE_BITS[u];
  if (bits === 0) throw new DerError('key usage needs at least one bit');
  // DER: no trailing zero bits; the unused-bits count says how many were dropped.
  let unused = 0;
  while (!((bits >> unused) & 1)) unused++;
  return extension(OID.keyUsage, true, bitString(Uint8Array.of(bits), unused));
}

export function extendedKeyUsage(purposes: readonly string[]): Bytes {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map((p) => oid(p))));
}

/** IPv4 or IPv6 text to its 4 or 16 address octets (RFC 5280 iPAddress). */
export function ipAddressOctets(ip: string): Bytes {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip) || ip.includes('%')) throw new DerError('not an IP address');
  let text = ip;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[2]!.split('.').map(Number);
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
    text = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  const left = groups(gap < 0 ? text : text.slice(0, gap));
  const right = gap < 0 ? [] : groups(text.slice(gap + 2));
  const zeros = gap < 0 ? 0 : 8 - left.length - right.length - tail.length;
  const all = [...left, ...Array<number>(Math.max(zeros, 0)).fill(0), ...right, ...tail];
  if (all.length !== 8 || zeros < 0) throw new DerError('not an IP address');
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function generalName(name: GeneralName): Bytes {
  switch (name.type) {
    case 'uri':
      return contextPrimitive(6, ia5Content(name.value));
    case 'dns':
      return contextPrimitive(2, ia5Content(name.value));
    case 'ip':
      return contextPrimitive(7, ipAddressOctets(name.value));
  }
}

export function subjectAltName(names: readonly GeneralName[]): Bytes {
  if (names.length === 0) throw new DerError('subjectAltName needs at least one name');
  return extension(OID.subjectAltName, false, sequence(...names.map(generalName)));
}

export function subjectKeyIdentifier(keyId: Uint8Array): Bytes {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Uint8Array): Bytes {
  return extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, keyId)));
}

export function crlDistributionPoints(urls: readonly string[]): Bytes {
  // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
  const points = urls.map((u) =>
    sequence(contextConstructed(0, contextConstructed(0, generalName({ type: 'uri', value: u })))),
  );
  return extension(OID.crlDistributionPoints, false, sequence(...points));
}

export function authorityInfoAccess(access: {
  ocsp?: readonly string[];
  caIssuers?: readonly string[];
}): Bytes {
  const descriptions = [
    ...(access.ocsp ?? []).map((u) => sequence(oid(OID.accessOcsp), generalName({ type: 'uri', value: u }))),
    ...(access.caIssuers ?? []).map((u) =>
      sequence(oid(OID.accessCaIssuers), generalName({ type: 'uri', value: u })),
    ),
  ];
  return extension(OID.authorityInfoAccess, false, sequence(...descriptions));
}

// ---------------------------------------------------------------------------------------------
// Reading the parts of DER we copy or hash

export interface SubjectPublicKeyInfo {
  /** The whole SubjectPublicKeyInfo, DER. */
  der: Uint8Array;
  /** The algorithm OID (ecPublicKey, rsaEncryption, ...). */
  algorithm: string;
  /** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
  keyId: Uint8Array;
}

export function readSubjectPublicKeyInfo(spki: Uint8Array): SubjectPublicKeyInfo {
  const top = expectTag(readSingle(spki), TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const [algId, key] = children(spki, top);
  const algorithm = expectTag(
    children(spki, expectTag(algId, TAG.SEQUENCE, 'AlgorithmIdentifier'))[0],
    TAG.OID,
    'OID',
  );
  const bits = content(spki, expectTag(key, TAG.BIT_STRING, 'subjectPublicKey'));
  if (bits.length < 2 || bits[0] !== 0) throw new DerError('bad subjectPublicKey');
  return {
    der: spki,
    algorithm: decodeOid(content(spki, algorithm)),
    keyId: createHash('sha1').update(bits.subarray(1)).digest(),
  };
}

/** The raw issuer and subject Names and SubjectPublicKeyInfo of a DER certificate. */
export function readCertificateParts(cert: Uint8Array): {
  issuer: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
} {
  const top = expectTag(readSingle(cert), TAG.SEQUENCE, 'Certificate');
  const tbs = expectTag(children(cert, top)[0], TAG.SEQUENCE, 'TBSCertificate');
  const fields = children(cert, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version is optional (v1)
  const issuer = expectTag(fields[offset + 2], TAG.SEQUENCE, 'issuer');
  const subject = expectTag(fields[offset + 4], TAG.SEQUENCE, 'subject');
  const spki = expectTag(fields[offset + 5], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  return { issuer: encoded(cert, issuer), subject: encoded(cert, subject), spki: encoded(cert, spki) };
}

/** The signed part, its issuer Name (RFC 5280 §5.1) and the signature value of a DER CRL. */
export function readCrlParts(crl: Uint8Array): {
  tbs: Uint8Array;
  issuer: Uint8Array;
  signature: Uint8Array;
} {
  const top = expectTag(readSingle(crl), TAG.SEQUENCE, 'CertificateList');
  const [tbs, , bits] = children(crl, top);
  const fields = children(crl, expectTag(tbs, TAG.SEQUENCE, 'TBSCertList'));
  const offset = fields[0]?.tag === TAG.INTEGER ? 1 : 0; // version is optional (v1)
  const issuer = expectTag(fields[offset + 1], TAG.SEQUENCE, 'issuer');
  const signature = content(crl, expectTag(bits, TAG.BIT_STRING, 'signatureValue'));
  if (signature.length < 2 || signature[0] !== 0) throw new DerError('bad signatureValue');
  return { tbs: encoded(crl, tbs!), issuer: encoded(crl, issuer), signature: signature.subarray(1) };
}

// ---------------------------------------------------------------------------------------------
// Envelopes

export interface TbsFields {
  serial: Uint8Array;
  signatureAlgorithm: string;
  issuer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subject: Uint8Array;
  spki: Uint8Array;
  extensions: readonly Uint8Array[];
}

export function encodeTbsCertificate(f: TbsFields): Bytes {
  return sequence(
    contextConstructed(0, integer(2)), // v3
    integer(f.serial),
    sequence(oid(f.signatureAlgorithm)), // ECDSA: parameters absent (RFC 5758)
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    contextConstructed(3, sequence(...f.extensions)),
  );
}

export function encodeCertificate(tbs: Uint8Array, signatureAlgorithm: string, signature: Uint8Array): Bytes {
  return sequence(tbs, sequence(oid(signatureAlgorithm)), bitString(signature));
}
