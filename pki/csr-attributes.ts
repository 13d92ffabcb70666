// EST CSR attributes (RFC 7030 §4.5): what the hub asks of a device's certificate request, as the
// CsrAttrs SEQUENCE that /.well-known/est/csrattrs returns (base64 DER, like the other EST
// bodies). It says what the CSR gates (csr.ts, key-quality.ts) enforce first:
//   - an Attribute ecPublicKey whose value is the curve: P-256 (prime256v1), the device key the
//     profile is built for (RFC 7030 §4.5.2 writes the required key type and curve this way);
//   - the bare OID ecdsa-with-SHA256: the signature algorithm to sign the request with;
//   - the bare OID commonName: the subject carries a CN, which must equal the device id.
// The gates also accept P-384 and RSA ≥ 2048 keys; the attributes name the one a device should use.
import * as asn1js from 'asn1js';

export const CSR_ATTRIBUTE_OIDS = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
} as const;

const oid = (value: string) => new asn1js.ObjectIdentifier({ value });

/** DER of CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID (RFC 7030 §4.5.2). */
export function csrAttributesDer(): Buffer {
  const { ecPublicKey, prime256v1, ecdsaWithSHA256, commonName } = CSR_ATTRIBUTE_OIDS;
  const attrs = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [oid(ecPublicKey), new asn1js.Set({ value: [oid(prime256v1)] })] }),
      oid(ecdsaWithSHA256),
      oid(commonName),
    ],
  });
  return Buffer.from(attrs.toBER(false));
}
