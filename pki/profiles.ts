// Certificate profiles: *what gets signed*. Root CA → issuing CA → device, server and
// command-signer certificates (SPEC §3). The caller decides *who may ask*; by the time a request
// reaches `issueCertificate` its key has passed the CSR gates. Certificates are written with the
// DER encoder in x509-encoding.ts and signed synchronously with node:crypto (see docs/PKI.md).
import { KeyObject, createPublicKey, randomBytes } from 'node:crypto';
import { DEVICE_ID_PATTERN } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import { asKeyObject, subtle, x509 } from './crypto-provider.js';
import { deviceSanUri } from './csr.js';
import { DerError, type Bytes } from './der.js';
import { describeIssuer, signAsIssuer, signatureAlgorithmFor, type Issuer } from './issuer.js';
import {
  OID,
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  encodeCertificate,
  encodeName,
  encodeTbsCertificate,
  extendedKeyUsage,
  ipAddressOctets,
  keyUsage,
  readSubjectPublicKeyInfo,
  subjectAltName,
  subjectKeyIdentifier,
  type GeneralName,
  type KeyUsage,
  type SubjectPublicKeyInfo,
} from './x509-encoding.js';

const DAY_MS = 86_400_000;
/** notBefore is backdated this much, for devices whose clocks run a little behind. */
export const CLOCK_SKEW_MS = 5 * 60_000;
export const EKU_CLIENT_AUTH = OID.clientAuth;
export const EKU_SERVER_AUTH = OID.serverAuth;
/**
 * Private-use EKU marking the key that signs device commands. It lives under the ITU-T X.667
 * UUID arc (2.25), which needs no registration and cannot collide with anyone's enterprise OID.
 */
export const EKU_COMMAND_SIGNING = '2.25.216433528307915406727327207932926530158';
export const ORGANIZATION = 'VitalGate';

export type { Issuer } from './issuer.js';

export type ProfileName = 'root-ca' | 'issuing-ca' | 'device' | 'server' | 'command-signer';

/** Default validity per profile, in days. */
export const DEFAULT_VALIDITY_DAYS: Readonly<Record<ProfileName, number>> = {
  'root-ca': 3650,
  'issuing-ca': 1825,
  device: 90,
  server: 365,
  'command-signer': 730,
};

export interface PkiUrls {
  /** CRL distribution point. */
  crl: string;
  /** OCSP responder (AIA). */
  ocsp: string;
}

/** Anything that carries a SubjectPublicKeyInfo. */
export type PublicKeyInput = x509.PublicKey | CryptoKey | KeyObject | Uint8Array;

export interface IssueCertificateParams {
  profile: ProfileName;
  /** The subject CN: the device id for `device`, a display name otherwise. */
  subject: string;
  publicKey: PublicKeyInput;
  /** The issuing certificate; absent for `root-ca`, which is self-signed with `issuerKey`. */
  issuerCert?: x509.X509Certificate;
  /** The issuer's private key (ECDSA P-256 or P-384). */
  issuerKey: CryptoKey | KeyObject;
  validityDays?: number;
  /** `server` only: DNS names and IP addresses. `device` derives its SAN URI from the subject. */
  sans?: readonly string[];
  /** Required for `device`; `server` and `command-signer` without them carry no CRL/OCSP pointers. */
  urls?: PkiUrls | undefined;
  /** Epoch ms; defaults to now. */
  now?: number;
  /** Hex serial; defaults to a random positive 128-bit value. For tests. */
  serialNumber?: string;
}

export interface IssuedCertificate {
  der: Bytes;
  pem: string;
  /** Lower-case hex, as normalizeSerial gives it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Parsed on first use. */
  readonly certificate: x509.X509Certificate;
}

const invalid = (message: string) => new VitalGateError('PROFILE_INVALID', message);

/** A random positive 128-bit serial (CSPRNG), as lower-case hex without leading zero bytes. */
export function randomSerial(): string {
  for (;;) {
    const serial = normalizeSerial(randomBytes(16).toString('hex'));
    if (serial !== '0') return serial;
  }
}

/** The certificate serial as stored and compared: lower-case hex without leading zero bytes. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^(00)+/, '') || '0';
}

async function spkiOf(publicKey: PublicKeyInput): Promise<Uint8Array> {
  if (publicKey instanceof Uint8Array) return publicKey;
  if (publicKey instanceof x509.PublicKey) return new Uint8Array(publicKey.rawData);
  if (publicKey instanceof KeyObject) {
    const key = publicKey.type === 'public' ? publicKey : createPublicKey(publicKey);
    return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  }
  return new Uint8Array(await subtle.exportKey('spki', publicKey));
}

function leafKeyUsage(spkiAlgorithm: string): KeyUsage[] {
  if (spkiAlgorithm === OID.ecPublicKey) return ['digitalSignature', 'keyAgreement'];
  if (spkiAlgorithm === OID.rsaEncryption) return ['digitalSignature', 'keyEncipherment'];
  return ['digitalSignature'];
}

/** DNS names (LDH labels, optional leading wildcard) and IP literals for the server profile. */
function serverNames(sans: readonly string[] | undefined): GeneralName[] {
  const hosts = [...new Set(sans ?? [])];
  if (hosts.length === 0) throw invalid('a server certificate needs at least one DNS name or IP address');
  return hosts.map((h) => {
    try {
      ipAddressOctets(h);
      return { type: 'ip', value: h };
    } catch {
      const dns = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
      if (h.length > 253 || !dns.test(h))
        throw invalid('a server SAN is neither a DNS name nor an IP address');
      return { type: 'dns', value: h.toLowerCase() };
    }
  });
}

function checkUrl(url: string | undefined, what: string): string {
  if (!url || !/^https?:\/\/[!-~]+$/.test(url)) throw invalid(`the ${what} URL must be an http(s) URL`);
  return url;
}

/**
 * Builds and signs one certificate of the given profile. Throws VitalGateError PROFILE_INVALID
 * (bad subject, SANs, URLs or validity), PROFILE_ISSUER_NOT_CA, PROFILE_ISSUER_KEY_MISMATCH or
 * KEY_UNSUPPORTED.
 */
export async function issueCertificate(params: IssueCertificateParams): Promise<IssuedCertificate> {
  const { profile } = params;
  const now = params.now ?? Date.now();
  const days = params.validityDays ?? DEFAULT_VALIDITY_DAYS[profile];
  if (!Number.isFinite(days) || days <= 0 || days > 36_500)
    throw invalid('validity must be 1 day to 100 years');
  if (profile !== 'server' && params.sans?.length) throw invalid(`the ${profile} profile takes no SANs`);

  let spki: SubjectPublicKeyInfo;
  try {
    spki = readSubjectPublicKeyInfo(await spkiOf(params.publicKey));
  } catch (err) {
    if (err instanceof DerError) throw invalid('the public key is not a DER SubjectPublicKeyInfo');
    throw err;
  }
  const selfSigned = profile === 'root-ca';
  if (selfSigned !== !params.issuerCert) throw invalid('only the root CA is self-signed, and it must be');
  const issuer = params.issuerCert
    ? describeIssuer({ certificate: params.issuerCert, key: params.issuerKey })
    : undefined;
  const signer = issuer ?? {
    signatureAlgorithm: signatureAlgorithmFor(params.issuerKey),
    signingKey: asKeyObject(params.issuerKey),
  };
  if (selfSigned) {
    const own = createPublicKey(signer.signingKey).export({ type: 'spki', format: 'der' });
    if (!own.equals(spki.der)) throw invalid('a self-signed certificate must carry its signing key');
  }
  const algorithm = signer.signatureAlgorithm;

  let subject: Uint8Array;
  if (profile === 'device') {
    if (!DEVICE_ID_PATTERN.test(params.subject)) throw invalid('the device id is not valid');
    subject = encodeName([[OID.commonName, params.subject]]);
  } else {
    if (params.subject.length === 0 || params.subject.length > 64)
      throw invalid('the CN must be 1 to 64 characters');
    subject = encodeName([
      [OID.organizationName, ORGANIZATION],
      [OID.commonName, params.subject],
    ]);
  }

  const extensions: Uint8Array[] = [];
  if (profile === 'root-ca' || profile === 'issuing-ca') {
    extensions.push(
      basicConstraints(true, profile === 'root-ca' ? 1 : 0),
      keyUsage(['keyCertSign', 'cRLSign']),
      subjectKeyIdentifier(spki.keyId),
    );
    if (issuer) extensions.push(authorityKeyIdentifier(issuer.keyId));
  } else {
    const urls = params.urls;
    extensions.push(
      basicConstraints(false),
      keyUsage(profile === 'command-signer' ? ['digitalSignature'] : leafKeyUsage(spki.algorithm)),
      subjectKeyIdentifier(spki.keyId),
      authorityKeyIdentifier(issuer!.keyId),
    );
    // The hub's own certificates may be made before any reachable URL is known (an API port
    // of 0 at init): they then carry no pointers rather than ones that reach nothing.
    if (urls || profile === 'device') {
      extensions.push(
        crlDistributionPoints([checkUrl(urls?.crl, 'CRL')]),
        authorityInfoAccess({ ocsp: [checkUrl(urls?.ocsp, 'OCSP')] }),
      );
    }
    if (profile === 'device') {
      extensions.push(
        extendedKeyUsage([EKU_CLIENT_AUTH]),
        subjectAltName([{ type: 'uri', value: deviceSanUri(params.subject) }]),
      );
    } else if (profile === 'server') {
      extensions.push(extendedKeyUsage([EKU_SERVER_AUTH]), subjectAltName(serverNames(params.sans)));
    } else {
      extensions.push(extendedKeyUsage([EKU_COMMAND_SIGNING]));
    }
  }

  const serial = normalizeSerial(params.serialNumber ?? randomSerial());
  if (!/^[0-9a-f]{1,40}$/.test(serial) || serial === '0')
    throw invalid('the serial must be 1 to 20 octets of hex');
  // Second precision (DER times carry no fraction); never outlive the issuer.
  const notBefore = new Date(Math.floor((now - CLOCK_SKEW_MS) / 1000) * 1000);
  const notAfter = new Date(
    Math.floor(Math.min(now + days * DAY_MS, issuer?.notAfter ?? Infinity) / 1000) * 1000,
  );

  const tbs = encodeTbsCertificate({
    serial: Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex'),
    signatureAlgorithm: algorithm.oid,
    issuer: issuer?.name ?? subject,
    notBefore,
    notAfter,
    subject,
    spki: spki.der,
    extensions,
  });
  const signature = signAsIssuer(signer, tbs);
  const der = encodeCertificate(tbs, algorithm.oid, signature);
  let parsed: x509.X509Certificate | undefined;
  return {
    der,
    pem: `${x509.PemConverter.encode(der, 'CERTIFICATE')}\n`,
    serial,
    notBefore,
    notAfter,
    get certificate() {
      return (parsed ??= new x509.X509Certificate(der));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The named profiles, as the authority calls them.

export async function createRootCa(keys: CryptoKeyPair, commonName: string, now: number, years = 10) {
  return (
    await issueCertificate({
      profile: 'root-ca',
      subject: commonName,
      publicKey: keys.publicKey,
      issuerKey: keys.privateKey,
      validityDays: years * 365,
      now,
    })
  ).certificate;
}

export async function createIssuingCa(
  publicKey: PublicKeyInput,
  root: Issuer,
  commonName: string,
  now: number,
  years = 5,
) {
  return (
    await issueCertificate({
      profile: 'issuing-ca',
      subject: commonName,
      publicKey,
      issuerCert: root.certificate,
      issuerKey: root.key,
      validityDays: years * 365,
      now,
    })
  ).certificate;
}

export async function issueDeviceCertificate(params: {
  deviceId: string;
  publicKey: PublicKeyInput;
  issuer: Issuer;
  urls: PkiUrls;
  validityDays: number;
  now: number;
}) {
  return (
    await issueCertificate({
      profile: 'device',
      subject: params.deviceId,
      publicKey: params.publicKey,
      issuerCert: params.issuer.certificate,
      issuerKey: params.issuer.key,
      validityDays: params.validityDays,
      urls: params.urls,
      now: params.now,
    })
  ).certificate;
}

export async function issueServerCertificate(params: {
  commonName: string;
  hosts: string[];
  publicKey: PublicKeyInput;
  issuer: Issuer;
  urls: PkiUrls | undefined;
  validityDays: number;
  now: number;
}) {
  return (
    await issueCertificate({
      profile: 'server',
      subject: params.commonName,
      publicKey: params.publicKey,
      issuerCert: params.issuer.certificate,
      issuerKey: params.issuer.key,
      validityDays: params.validityDays,
      sans: params.hosts,
      urls: params.urls,
      now: params.now,
    })
  ).certificate;
}

export async function issueCommandSignerCertificate(params: {
  publicKey: PublicKeyInput;
  issuer: Issuer;
  urls: PkiUrls | undefined;
  validityDays: number;
  now: number;
}) {
  return (
    await issueCertificate({
      profile: 'command-signer',
      subject: 'VitalGate Command Signer',
      publicKey: params.publicKey,
      issuerCert: params.issuer.certificate,
      issuerKey: params.issuer.key,
      validityDays: params.validityDays,
      urls: params.urls,
      now: params.now,
    })
  ).certificate;
}
