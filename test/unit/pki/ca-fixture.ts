// A throwaway CA for tests of the stateless PKI core: root (P-384) → issuing CA (P-256), built
// with the same profiles the hub uses, and device CSRs made the way a device makes them.
import {
  exportPkcs8,
  generateKeyPair,
  pkcs8ToPem,
  x509,
  type CurveName,
} from '../../../pki/crypto-provider.js';
import { deviceSanUri } from '../../../pki/csr.js';
import { issueCertificate, type IssuedCertificate, type PkiUrls } from '../../../pki/profiles.js';

export interface TestCa {
  root: IssuedCertificate;
  rootKey: CryptoKey;
  issuing: IssuedCertificate;
  issuingKey: CryptoKey;
  issuer: { certificate: x509.X509Certificate; key: CryptoKey };
  urls: PkiUrls;
  /** Issuing CA then root, PEM. */
  chainPem: string;
}

export const TEST_URLS: PkiUrls = {
  crl: 'https://hub.test:8443/pki/crl',
  ocsp: 'https://hub.test:8443/pki/ocsp',
};

export async function createTestCa(now = Date.now()): Promise<TestCa> {
  const rootKeys = await generateKeyPair('P-384');
  const root = await issueCertificate({
    profile: 'root-ca',
    subject: 'Test Root CA',
    publicKey: rootKeys.publicKey,
    issuerKey: rootKeys.privateKey,
    now,
  });
  const issuingKeys = await generateKeyPair('P-256');
  const issuing = await issueCertificate({
    profile: 'issuing-ca',
    subject: 'Test Issuing CA',
    publicKey: issuingKeys.publicKey,
    issuerCert: root.certificate,
    issuerKey: rootKeys.privateKey,
    now,
  });
  return {
    root,
    rootKey: rootKeys.privateKey,
    issuing,
    issuingKey: issuingKeys.privateKey,
    issuer: { certificate: issuing.certificate, key: issuingKeys.privateKey },
    urls: TEST_URLS,
    chainPem: `${issuing.pem}${root.pem}`,
  };
}

/** A device key pair and a PKCS#10 CSR for it, CN = device id, SAN URI requested. */
export async function deviceCsr(deviceId: string, curve: CurveName = 'P-256') {
  const keys = await generateKeyPair(curve);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [deviceId] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(deviceId) }])],
  });
  return { keys, keyPem: pkcs8ToPem(await exportPkcs8(keys.privateKey)), csrPem: csr.toString('pem') };
}
