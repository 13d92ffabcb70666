// PKCS#7 / CMS certs-only (a degenerate SignedData with no signers), as EST (RFC 7030) returns
// from /cacerts and /simpleenroll, base64-encoded.
import * as pkijs from 'pkijs';

const DATA_OID = '1.2.840.113549.1.7.1';

export function certsOnlyPkcs7(certificatesDer: readonly ArrayBuffer[]): Buffer {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: DATA_OID }),
    certificates: certificatesDer.map((der) => pkijs.Certificate.fromBER(der)),
  });
  const info = new pkijs.ContentInfo({
    contentType: pkijs.ContentInfo.SIGNED_DATA,
    content: signed.toSchema(true),
  });
  return Buffer.from(info.toSchema().toBER(false));
}
