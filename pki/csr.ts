// Reading a device's PKCS#10 request (RFC 2986) defensively, and deciding whether *what is asked
// for* may be signed. *Who may ask* (an enrollment token, or the current certificate for renewal)
// is checked by the caller. The request is read with the strict DER reader: one PEM block of at
// most 16 KiB, DER only, nothing trailing. Each refusal has its own code:
//
//   CSR_MALFORMED                        not one PEM CERTIFICATE REQUEST block, too large, not DER PKCS#10
//   CSR_KEY_TOO_WEAK / _CURVE_UNSUPPORTED / _UNSUPPORTED   the key gates of key-quality.ts
//   CSR_SIGNATURE_ALGORITHM_UNSUPPORTED  not ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512, or not the key's type
//   CSR_SIGNATURE_INVALID                the self-signature does not verify
//   CSR_SUBJECT_MISMATCH                 no CN, more than one CN, or a CN other than the device id
//   CSR_EXTENSION_NOT_ALLOWED            a requested extension other than the device's own SAN URI
//
// Nothing from the request is copied into the certificate except its public key: the profile
// writes subject, SAN and extensions itself. Other subject attributes (O, OU, C) and CSR
// attributes other than extensionRequest (challengePassword, for EST) are therefore ignored.
import { verify, type KeyObject } from 'node:crypto';
import { DEVICE_ID_PATTERN } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import { x509 } from './crypto-provider.js';
import {
  DerError,
  TAG,
  children,
  content,
  decodeOid,
  encoded,
  expectTag,
  readElement,
  readSingle,
  type DerElement,
} from './der.js';
import { assessPublicKey, readPublicKey, type KeyDescription } from './key-quality.js';

export const MAX_CSR_PEM_BYTES = 16 * 1024;
export const MAX_CSR_DER_BYTES = 12 * 1024;

const CN_OID = '2.5.4.3';
const SAN_OID = '2.5.29.17';
const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';

/** Accepted self-signature algorithms: OID → hash and the key type it needs. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, { hash: string; key: 'ec' | 'rsa' }>> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
};

const STRING_TAGS: ReadonlySet<number> = new Set([TAG.UTF8_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING]);

export function deviceSanUri(deviceId: string): string {
  return `urn:vitalgate:device:${deviceId}`;
}

/** A request that passed every gate. */
export class AcceptedCsr {
  #request: x509.Pkcs10CertificateRequest | undefined;
  #publicKey: x509.PublicKey | undefined;

  constructor(
    /** The request as received, DER. */
    readonly der: Uint8Array,
    /** The requested public key: its SubjectPublicKeyInfo, DER. */
    readonly spki: Uint8Array,
    readonly key: KeyDescription,
    readonly keyObject: KeyObject,
  ) {}

  get request(): x509.Pkcs10CertificateRequest {
    return (this.#request ??= new x509.Pkcs10CertificateRequest(new Uint8Array(this.der)));
  }

  get publicKey(): x509.PublicKey {
    return (this.#publicKey ??= new x509.PublicKey(new Uint8Array(this.spki)));
  }
}

const malformed = (message: string) => new VitalGateError('CSR_MALFORMED', message);

/** One PEM CERTIFICATE REQUEST block (≤ 16 KiB) to its DER bytes. */
export function decodeCsrPem(pem: unknown): Uint8Array {
  if (typeof pem !== 'string' || pem.length === 0) throw malformed('the CSR must be a PEM string');
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) {
    throw malformed(`the CSR is larger than ${MAX_CSR_PEM_BYTES} bytes`);
  }
  const match =
    /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (NEW )?CERTIFICATE REQUEST-----$/.exec(
      pem.trim(),
    );
  const body = match?.[2]?.replace(/\r?\n/g, '') ?? '';
  if (!match || match[1] !== match[3] || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw malformed('the CSR is not a single PEM CERTIFICATE REQUEST block');
  }
  return Buffer.from(body, 'base64');
}

interface CsrParts {
  info: Uint8Array;
  spki: Uint8Array;
  commonNames: Array<{ tag: number; value: Uint8Array }>;
  /** The extnID and extnValue of every requested extension. */
  extensions: Array<{ oid: string; value: Uint8Array }>;
  signatureAlgorithm: string;
  signatureParametersEmpty: boolean;
  signature: Uint8Array;
}

function readCsr(der: Uint8Array): CsrParts {
  const top = expectTag(readSingle(der), TAG.SEQUENCE, 'CertificationRequest');
  const [infoEl, algEl, sigEl, ...extra] = children(der, top);
  if (extra.length) throw new DerError('extra fields');
  const info = expectTag(infoEl, TAG.SEQUENCE, 'CertificationRequestInfo');
  const [version, subject, spki, attributes, ...more] = children(der, info);
  if (more.length) throw new DerError('extra fields');
  const v = content(der, expectTag(version, TAG.INTEGER, 'version'));
  if (v.length !== 1 || v[0] !== 0) throw new DerError('unknown version');
  expectTag(spki, TAG.SEQUENCE, 'SubjectPublicKeyInfo');

  const commonNames: CsrParts['commonNames'] = [];
  for (const rdn of children(der, expectTag(subject, TAG.SEQUENCE, 'Name'))) {
    for (const atv of children(der, expectTag(rdn, TAG.SET, 'RDN'))) {
      const [type, value, ...rest] = children(der, expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      if (!value || rest.length) throw new DerError('bad AttributeTypeAndValue');
      if (decodeOid(content(der, expectTag(type, TAG.OID, 'OID'))) === CN_OID) {
        commonNames.push({ tag: value.tag, value: content(der, value) });
      }
    }
  }

  const extensions: CsrParts['extensions'] = [];
  for (const attribute of attributes ? children(der, expectTag(attributes, 0xa0, 'attributes')) : []) {
    const [type, values, ...rest] = children(der, expectTag(attribute, TAG.SEQUENCE, 'Attribute'));
    if (!values || rest.length) throw new DerError('bad Attribute');
    if (decodeOid(content(der, expectTag(type, TAG.OID, 'OID'))) !== EXTENSION_REQUEST_OID) continue;
    for (const list of children(der, expectTag(values, TAG.SET, 'attribute values'))) {
      for (const ext of children(der, expectTag(list, TAG.SEQUENCE, 'Extensions'))) {
        const fields = children(der, expectTag(ext, TAG.SEQUENCE, 'Extension'));
        const id = expectTag(fields[0], TAG.OID, 'extnID');
        const value = expectTag(fields[fields.length - 1], TAG.OCTET_STRING, 'extnValue');
        if (fields.length > 3 || (fields.length === 3 && fields[1]!.tag !== TAG.BOOLEAN)) {
          throw new DerError('bad Extension');
        }
        extensions.push({ oid: decodeOid(content(der, id)), value: content(der, value) });
      }
    }
  }

  const alg = children(der, expectTag(algEl, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  if (alg.length > 2) throw new DerError('bad AlgorithmIdentifier');
  const params = alg[1];
  const bits = content(der, expectTag(sigEl, TAG.BIT_STRING, 'signature'));
  if (bits.length < 2 || bits[0] !== 0) throw new DerError('bad signature bit string');
  return {
    info: encoded(der, info),
    spki: encoded(der, spki!),
    commonNames,
    extensions,
    signatureAlgorithm: decodeOid(content(der, expectTag(alg[0], TAG.OID, 'OID'))),
    // The accepted algorithms take no parameters (or NULL, as some RSA encoders write).
    signatureParametersEmpty: !params || (params.tag === TAG.NULL && params.end === params.contentStart),
    signature: bits.subarray(1),
  };
}

/** True when a SAN extension value names exactly the device's own URI, and nothing else. */
function onlyOwnSanUri(value: Uint8Array, deviceId: string): boolean {
  const expected = deviceSanUri(deviceId);
  const names = readSingle(value);
  if (names.tag !== TAG.SEQUENCE) return false;
  const list: DerElement[] = children(value, names);
  return list.every((n) => n.tag === 0x86 && Buffer.from(content(value, n)).toString('latin1') === expected);
}

/**
 * Gates a DER PKCS#10 request for `deviceId` (synchronous: every check is local). Throws a coded
 * VitalGateError on the first refusal.
 */
export function acceptDeviceCsrDer(der: Uint8Array, deviceId: string): AcceptedCsr {
  if (typeof deviceId !== 'string' || !DEVICE_ID_PATTERN.test(deviceId)) {
    throw new VitalGateError('DEVICE_ID_INVALID', 'the device id is not valid');
  }
  if (!(der instanceof Uint8Array) || der.length === 0 || der.length > MAX_CSR_DER_BYTES) {
    throw malformed('the CSR is empty or too large');
  }
  let parts: CsrParts;
  try {
    readElement(der); // fail fast on garbage before the full walk
    parts = readCsr(der);
  } catch (err) {
    if (err instanceof DerError) throw malformed('the CSR is not DER-encoded PKCS#10');
    throw err;
  }

  const keyObject = readPublicKey(parts.spki);
  const key = assessPublicKey(keyObject);

  const algorithm = SIGNATURE_ALGORITHMS[parts.signatureAlgorithm];
  if (!algorithm || algorithm.key !== key.type || !parts.signatureParametersEmpty) {
    throw new VitalGateError(
      'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
      'the CSR must be signed with ECDSA or RSA PKCS#1 v1.5 and SHA-256/384/512, matching its key',
      { algorithm: parts.signatureAlgorithm },
    );
  }
  let valid = false;
  try {
    valid = verify(algorithm.hash, parts.info, { key: keyObject, dsaEncoding: 'der' }, parts.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new VitalGateError('CSR_SIGNATURE_INVALID', 'the CSR signature does not verify');

  const cn = parts.commonNames;
  if (
    cn.length !== 1 ||
    !STRING_TAGS.has(cn[0]!.tag) ||
    Buffer.from(cn[0]!.value).toString('latin1') !== deviceId
  ) {
    throw new VitalGateError(
      'CSR_SUBJECT_MISMATCH',
      'the CSR subject must have one CN, equal to the device id',
    );
  }

  for (const extension of parts.extensions) {
    let allowed = false;
    try {
      allowed = extension.oid === SAN_OID && onlyOwnSanUri(extension.value, deviceId);
    } catch {
      allowed = false;
    }
    if (!allowed) {
      throw new VitalGateError(
        'CSR_EXTENSION_NOT_ALLOWED',
        'the CSR may request no extension but its own subject alternative name URI',
        { extension: extension.oid },
      );
    }
  }
  // The key's SubjectPublicKeyInfo as requested: strict DER (the reader) that OpenSSL parsed and
  // the key gates accepted. It is what the certificate will carry.
  return new AcceptedCsr(der, new Uint8Array(parts.spki), key, keyObject);
}

/** Gates a PEM PKCS#10 request for `deviceId`. Throws a coded VitalGateError on refusal. */
export async function acceptDeviceCsr(pem: unknown, deviceId: string): Promise<AcceptedCsr> {
  return acceptDeviceCsrDer(decodeCsrPem(pem), deviceId);
}
