// Certificate profiles: what gets signed. Root CA → issuing CA → device, server and
// command-signer certificates (SPEC §3).
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SIGNING_ALGORITHM, x509 } from './crypto-provider.js';
import { deviceSanUri } from './csr.js';

const DAY_MS = 86_400_000;
/** Backdating of notBefore, for devices whose clocks run a little behind. */
const CLOCK_SKEW_MS = 5 * 60_000;
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
/** Private-use EKU under VitalGate's arc, marking the key that signs device commands. */
export const EKU_COMMAND_SIGNING = '1.3.6.1.4.1.99999.1.1';

export interface Issuer {
  certificate: x509.X509Certificate;
  key: CryptoKey;
}

export interface PkiUrls {
  crl: string;
  ocsp: string;
}

/** A random positive 128-bit serial, as lower-case hex. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(now: number, days: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

export async function createRootCa(keys: CryptoKeyPair, commonName: string, now: number, years = 10) {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}, O=VitalGate`,
    ...validity(now, years * 365),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export async function createIssuingCa(
  publicKey: CryptoKey,
  root: Issuer,
  commonName: string,
  now: number,
  years = 5,
) {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${commonName}, O=VitalGate`,
    issuer: root.certificate.subject,
    ...validity(now, years * 365),
    publicKey,
    signingKey: root.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.certificate),
    ],
  });
}

async function leafExtensions(publicKey: x509.PublicKeyType, issuer: Issuer, urls: PkiUrls) {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate),
    new x509.CRLDistributionPointsExtension([urls.crl]),
    new x509.AuthorityInfoAccessExtension({ ocsp: [urls.ocsp] }),
  ];
}

function leafKeyUsage(publicKey: x509.PublicKeyType): x509.KeyUsagesExtension {
  const algorithm =
    publicKey instanceof x509.PublicKey ? publicKey.algorithm : (publicKey as CryptoKey).algorithm;
  const isEc = algorithm.name === 'ECDSA' || algorithm.name === 'EC';
  const flags = isEc
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  return new x509.KeyUsagesExtension(flags, true);
}

export async function issueDeviceCertificate(params: {
  deviceId: string;
  publicKey: x509.PublicKeyType;
  issuer: Issuer;
  urls: PkiUrls;
  validityDays: number;
  now: number;
}) {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${params.deviceId}`,
    issuer: params.issuer.certificate.subject,
    ...validity(params.now, params.validityDays),
    publicKey: params.publicKey,
    signingKey: params.issuer.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...(await leafExtensions(params.publicKey, params.issuer, params.urls)),
      leafKeyUsage(params.publicKey),
      new x509.ExtendedKeyUsageExtension([EKU_CLIENT_AUTH], false),
      new x509.SubjectAlternativeNameExtension(
        [{ type: 'url', value: deviceSanUri(params.deviceId) }],
        false,
      ),
    ],
  });
}

export async function issueServerCertificate(params: {
  commonName: string;
  hosts: string[];
  publicKey: CryptoKey;
  issuer: Issuer;
  urls: PkiUrls;
  validityDays: number;
  now: number;
}) {
  const names = [...new Set(params.hosts)].map((h) =>
    isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
  );
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${params.commonName}, O=VitalGate`,
    issuer: params.issuer.certificate.subject,
    ...validity(params.now, params.validityDays),
    publicKey: params.publicKey,
    signingKey: params.issuer.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...(await leafExtensions(params.publicKey, params.issuer, params.urls)),
      leafKeyUsage(params.publicKey),
      new x509.ExtendedKeyUsageExtension([EKU_SERVER_AUTH], false),
      new x509.SubjectAlternativeNameExtension(names, false),
    ],
  });
}

export async function issueCommandSignerCertificate(params: {
  publicKey: CryptoKey;
  issuer: Issuer;
  urls: PkiUrls;
  validityDays: number;
  now: number;
}) {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=VitalGate Command Signer, O=VitalGate',
    issuer: params.issuer.certificate.subject,
    ...validity(params.now, params.validityDays),
    publicKey: params.publicKey,
    signingKey: params.issuer.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...(await leafExtensions(params.publicKey, params.issuer, params.urls)),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EKU_COMMAND_SIGNING], false),
    ],
  });
}

/** The certificate serial as stored and compared: lower-case hex without leading zero bytes. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^(00)+/, '') || '0';
}
