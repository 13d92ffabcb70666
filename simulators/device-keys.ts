// The device's own key pair and its PKCS#10 request, made the way a device SDK does on the
// device: ECDSA P-256 (the hub's default), CN = device id and the SAN URI the hub expects. The
// private key never leaves the device directory.
import { X509Certificate } from 'node:crypto';
import { exportPkcs8, generateKeyPair, pkcs8ToPem, x509 } from '../pki/crypto-provider.js';
import { deviceSanUri } from '../pki/csr.js';
import { normalizeSerial } from '../pki/profiles.js';

export interface DeviceKeyRequest {
  keyPem: string;
  csrPem: string;
}

export async function createDeviceKeyRequest(deviceId: string): Promise<DeviceKeyRequest> {
  const keys = await generateKeyPair('P-256');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${deviceId}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(deviceId) }])],
  });
  return { keyPem: pkcs8ToPem(await exportPkcs8(keys.privateKey)), csrPem: csr.toString('pem') };
}

export interface CertificateFacts {
  /** As the hub writes serials (lower-case hex, no leading zero bytes). */
  serial: string;
  /** Subject CN: the device id. */
  subject: string | undefined;
  notBefore: number;
  notAfter: number;
}

export function certificateFacts(certPem: string): CertificateFacts {
  const cert = new X509Certificate(certPem);
  return {
    serial: normalizeSerial(cert.serialNumber),
    subject: /^CN=(.+)$/m.exec(cert.subject)?.[1],
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}
