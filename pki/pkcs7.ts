// PKCS#7 / CMS certs-only: a degenerate SignedData with certificates and no signers (RFC 5652
// §5, RFC 7030 §4.1.3 and §4.2.3), as EST returns from /cacerts and /simpleenroll. EST bodies
// are the DER in base64 (Content-Transfer-Encoding: base64).
import * as pkijs from 'pkijs';
import { x509 } from './crypto-provider.js';

const DATA_OID = '1.2.840.113549.1.7.1';

/** A certificate as DER bytes, a PEM string or a parsed certificate. */
export type CertificateInput = ArrayBuffer | Uint8Array | string | x509.X509Certificate;

function toDer(cert: CertificateInput): Uint8Array<ArrayBuffer> {
  if (cert instanceof x509.X509Certificate) return new Uint8Array(cert.rawData);
  if (typeof cert === 'string') return new Uint8Array(new x509.X509Certificate(cert).rawData);
  return new Uint8Array(cert instanceof ArrayBuffer ? cert : new Uint8Array(cert));
}

/** DER ContentInfo(SignedData) carrying `certificates` in the given order. */
export function certsOnlyPkcs7(certificates: readonly CertificateInput[]): Buffer {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: DATA_OID }),
    certificates: certificates.map((c) => pkijs.Certificate.fromBER(toDer(c))),
  });
  const info = new pkijs.ContentInfo({
    contentType: pkijs.ContentInfo.SIGNED_DATA,
    content: signed.toSchema(true),
  });
  return Buffer.from(info.toSchema().toBER(false));
}

/** The EST body for application/pkcs7-mime; smime-type=certs-only: base64 DER in 64-column CRLF lines. */
export function certsOnlyPkcs7Base64(certificates: readonly CertificateInput[]): string {
  return estBase64(certsOnlyPkcs7(certificates));
}

/** An EST body (Content-Transfer-Encoding: base64): the DER in 64-column CRLF lines. */
export function estBase64(der: Buffer): string {
  const b64 = der.toString('base64');
  return `${b64.replace(/(.{64})/g, '$1\r\n').replace(/\r\n$/, '')}\r\n`;
}
