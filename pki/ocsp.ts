// OCSP responder (RFC 6960): reads a DER OCSPRequest and answers with a BasicOCSPResponse signed
// by the issuing CA itself (the simplest valid responder: no delegated responder certificate).
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { RevocationReason } from '../core/store/certificates.js';
import type { Issuer } from './profiles.js';
import { normalizeSerial } from './profiles.js';

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }));

const NONCE_OID = '1.3.6.1.5.5.7.48.1.2';
const BASIC_RESPONSE_OID = '1.3.6.1.5.5.7.48.1.1';
const SHA1_OID = '1.3.14.3.2.26';
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export type CertificateStatusAnswer =
  | { status: 'good' }
  | { status: 'revoked'; revokedAt: number; reason: RevocationReason }
  | { status: 'unknown' };

export type StatusLookup = (serialHex: string) => CertificateStatusAnswer;

const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
};

function malformed(): Buffer {
  const response = new pkijs.OCSPResponse();
  response.responseStatus.valueBlock.valueDec = 1; // malformedRequest
  return Buffer.from(response.toSchema().toBER(false));
}

function certStatus(answer: CertificateStatusAnswer): asn1js.BaseBlock {
  if (answer.status === 'good') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } });
  if (answer.status === 'unknown') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } });
  return new asn1js.Constructed({
    idBlock: { tagClass: 3, tagNumber: 1 },
    value: [
      new asn1js.GeneralizedTime({ valueDate: new Date(answer.revokedAt) }),
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [new asn1js.Enumerated({ value: REASON_CODES[answer.reason] })],
      }),
    ],
  });
}

export class OcspResponder {
  private readonly issuerCert: pkijs.Certificate;
  private readonly nameHashes: Map<string, string>;
  private readonly keyHashes: Map<string, string>;

  constructor(
    private readonly issuer: Issuer,
    private readonly lookup: StatusLookup,
    private readonly validityMs = 3_600_000,
  ) {
    this.issuerCert = pkijs.Certificate.fromBER(issuer.certificate.rawData);
    const name = Buffer.from(this.issuerCert.subject.toSchema().toBER(false));
    const key = Buffer.from(this.issuerCert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
    this.nameHashes = new Map([
      [SHA1_OID, createHash('sha1').update(name).digest('hex')],
      [SHA256_OID, createHash('sha256').update(name).digest('hex')],
    ]);
    this.keyHashes = new Map([
      [SHA1_OID, createHash('sha1').update(key).digest('hex')],
      [SHA256_OID, createHash('sha256').update(key).digest('hex')],
    ]);
  }

  async respond(requestDer: Buffer, now = Date.now()): Promise<Buffer> {
    let request: pkijs.OCSPRequest;
    try {
      request = pkijs.OCSPRequest.fromBER(new Uint8Array(requestDer));
    } catch {
      return malformed();
    }
    const list = request.tbsRequest.requestList;
    if (list.length === 0 || list.length > 20) return malformed();

    const basic = new pkijs.BasicOCSPResponse();
    basic.tbsResponseData.responderID = this.issuerCert.subject;
    basic.tbsResponseData.producedAt = new Date(now);
    for (const item of list) {
      const certId = item.reqCert;
      const hashOid = certId.hashAlgorithm.algorithmId;
      const ours =
        this.nameHashes.get(hashOid) ===
          Buffer.from(certId.issuerNameHash.valueBlock.valueHexView).toString('hex') &&
        this.keyHashes.get(hashOid) ===
          Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView).toString('hex');
      const serial = normalizeSerial(
        Buffer.from(certId.serialNumber.valueBlock.valueHexView).toString('hex'),
      );
      const answer: CertificateStatusAnswer = ours ? this.lookup(serial) : { status: 'unknown' };
      basic.tbsResponseData.responses.push(
        new pkijs.SingleResponse({
          certID: certId,
          certStatus: certStatus(answer),
          thisUpdate: new Date(now),
          nextUpdate: new Date(now + this.validityMs),
        }),
      );
    }
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === NONCE_OID);
    if (nonce) basic.tbsResponseData.responseExtensions = [nonce];
    basic.certs = [this.issuerCert];
    await basic.sign(this.issuer.key, 'SHA-256');

    const response = new pkijs.OCSPResponse();
    response.responseStatus.valueBlock.valueDec = 0; // successful
    response.responseBytes = new pkijs.ResponseBytes({
      responseType: BASIC_RESPONSE_OID,
      response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER(false) }),
    });
    return Buffer.from(response.toSchema().toBER(false));
  }
}
