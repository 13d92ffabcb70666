// A trust anchor for a TLS context that should stop at the issuing CA. Without
// X509_V_FLAG_PARTIAL_CHAIN (Node 20 has no option for it; `allowPartialTrustChain` came in
// 22.9), OpenSSL accepts a chain only when it ends at a self-signed certificate, so verifying a
// device certificate means verifying the issuing CA's ECDSA P-384 signature by the root too, at
// every handshake. This is the issuing CA's certificate re-signed by its own key: same subject
// Name, key, key identifier, validity and CA constraints, so OpenSSL takes it as the end of the
// chain. It grants nothing the issuing CA's key does not already grant. What the root says about
// the issuing CA (its CRL) has to be checked by whoever uses it (the broker's ClientRevocation).
import { x509 } from './crypto-provider.js';
import { describeIssuer, signAsIssuer, type Issuer } from './issuer.js';
import { randomSerial } from './profiles.js';
import {
  basicConstraints,
  encodeCertificate,
  encodeTbsCertificate,
  keyUsage,
  readCertificateParts,
  subjectKeyIdentifier,
} from './x509-encoding.js';

/** The self-signed twin of `issuer`'s certificate, PEM. */
export function selfSignedTwin(issuer: Issuer): string {
  const facts = describeIssuer(issuer);
  const cert = issuer.certificate;
  const { subject, spki } = readCertificateParts(new Uint8Array(cert.rawData));
  const pathLength = cert.getExtension(x509.BasicConstraintsExtension)?.pathLength;
  const serial = randomSerial();
  const tbs = encodeTbsCertificate({
    serial: Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex'),
    signatureAlgorithm: facts.signatureAlgorithm.oid,
    issuer: subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject,
    spki,
    extensions: [
      basicConstraints(true, pathLength),
      keyUsage(['keyCertSign', 'cRLSign']),
      subjectKeyIdentifier(facts.keyId),
    ],
  });
  const der = encodeCertificate(tbs, facts.signatureAlgorithm.oid, signAsIssuer(facts, tbs));
  return `${x509.PemConverter.encode(der, 'CERTIFICATE')}\n`;
}
