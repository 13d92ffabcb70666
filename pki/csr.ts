// Reading a device's PKCS#10 request defensively. *Who may ask* (the enrollment token) is
// checked elsewhere; this decides whether *what is asked for* may be signed: a well-formed
// request, a valid self-signature, a strong key, CN = device id, and no extensions beyond the
// device's own SAN URI. Each refusal has its own code.
import { VitalGateError } from '../core/errors.js';
import { assessPublicKey, type KeyDescription } from './key-quality.js';
import { x509 } from './crypto-provider.js';

export const MAX_CSR_PEM_BYTES = 16 * 1024;
const SAN_OID = '2.5.29.17';
const CN_OID = '2.5.4.3';

export interface AcceptedCsr {
  request: x509.Pkcs10CertificateRequest;
  publicKey: x509.PublicKey;
  key: KeyDescription;
}

export function deviceSanUri(deviceId: string): string {
  return `urn:vitalgate:device:${deviceId}`;
}

export async function acceptDeviceCsr(pem: unknown, deviceId: string): Promise<AcceptedCsr> {
  if (typeof pem !== 'string' || pem.length === 0) {
    throw new VitalGateError('CSR_MALFORMED', 'the CSR must be a PEM string');
  }
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) {
    throw new VitalGateError('CSR_MALFORMED', `the CSR is larger than ${MAX_CSR_PEM_BYTES} bytes`);
  }
  const trimmed = pem.trim();
  if (
    !/^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (NEW )?CERTIFICATE REQUEST-----$/.test(
      trimmed,
    )
  ) {
    throw new VitalGateError('CSR_MALFORMED', 'the CSR is not a single PEM CERTIFICATE REQUEST block');
  }
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(
      trimmed.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'),
    );
  } catch {
    throw new VitalGateError('CSR_MALFORMED', 'the CSR is not valid PKCS#10');
  }

  const key = assessPublicKey(request.publicKey.rawData);

  let signatureOk = false;
  try {
    signatureOk = await request.verify();
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) throw new VitalGateError('CSR_SIGNATURE_INVALID', 'the CSR signature does not verify');

  const commonNames = request.subjectName.getField(CN_OID);
  if (commonNames.length !== 1 || commonNames[0] !== deviceId) {
    throw new VitalGateError('CSR_SUBJECT_MISMATCH', 'the CSR subject CN must equal the device id');
  }

  for (const extension of request.extensions) {
    if (extension.type !== SAN_OID) {
      throw new VitalGateError('CSR_EXTENSION_NOT_ALLOWED', `the CSR requests extension ${extension.type}`);
    }
    const san = new x509.SubjectAlternativeNameExtension(extension.rawData);
    const names = san.names.toJSON();
    const onlyOwnUri = names.every((n) => n.type === 'url' && n.value === deviceSanUri(deviceId));
    if (!onlyOwnUri) {
      throw new VitalGateError('CSR_EXTENSION_NOT_ALLOWED', 'the CSR requests subject alternative names');
    }
  }
  return { request, publicKey: request.publicKey, key };
}
