// OCSP responder (RFC 6960): reads a DER OCSPRequest with pkijs and answers with a
// BasicOCSPResponse signed by the issuing CA itself (the simplest valid responder: no delegated
// responder certificate). Garbage gets `malformedRequest`, a failing lookup `internalError`.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CRL_REASON_CODES, type CrlReason } from './crl.js';
import { TAG, content, readSingle } from './der.js';
import { describeIssuer, signAsIssuer, type Issuer } from './issuer.js';
import { normalizeSerial } from './profiles.js';

const NONCE_OID = '1.3.6.1.5.5.7.48.1.2';
const BASIC_RESPONSE_OID = '1.3.6.1.5.5.7.48.1.1';
const SHA1_OID = '1.3.14.3.2.26';
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** Requests larger than this are refused unread. */
export const MAX_OCSP_REQUEST_BYTES = 16 * 1024;
/** Certificates per request. */
export const MAX_OCSP_REQUEST_ITEMS = 20;

/** OCSPResponseStatus values (RFC 6960 §4.2.1). */
export const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;

export type CertificateStatusAnswer =
  { status: 'good' } | { status: 'revoked'; revokedAt: number; reason: CrlReason } | { status: 'unknown' };

/** Status of a certificate this CA issued, by lower-case hex serial without leading zero bytes. */
export type StatusLookup = (serialHex: string) => CertificateStatusAnswer | Promise<CertificateStatusAnswer>;

const floorSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

function statusOnly(status: number): Buffer {
  const response = new pkijs.OCSPResponse();
  response.responseStatus.valueBlock.valueDec = status;
  return Buffer.from(response.toSchema().toBER(false));
}

function certStatus(answer: CertificateStatusAnswer): asn1js.BaseBlock {
  if (answer.status === 'good') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } });
  if (answer.status === 'unknown') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } });
  const code = CRL_REASON_CODES[answer.reason] ?? 0;
  return new asn1js.Constructed({
    idBlock: { tagClass: 3, tagNumber: 1 },
    value: [
      new asn1js.GeneralizedTime({ valueDate: floorSecond(answer.revokedAt) }),
      // revocationReason [0] EXPLICIT CRLReason; like the CRL, left out when unspecified.
      ...(code === 0
        ? []
        : [
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 0 },
              value: [new asn1js.Enumerated({ value: code })],
            }),
          ]),
    ],
  });
}

/** RFC 8954: a nonce of 1 to 32 octets (the extension value is an OCTET STRING holding it). */
function nonceAcceptable(extnValue: Uint8Array): boolean {
  try {
    const inner = readSingle(extnValue);
    const length = inner.tag === TAG.OCTET_STRING ? content(extnValue, inner).length : extnValue.length;
    return length >= 1 && length <= 32;
  } catch {
    return extnValue.length >= 1 && extnValue.length <= 32;
  }
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
    describeIssuer(issuer); // fails early on a non-CA or a key that is not the certificate's
    this.issuerCert = pkijs.Certificate.fromBER(new Uint8Array(issuer.certificate.rawData));
    const name = Buffer.from(this.issuerCert.subject.toSchema().toBER(false));
    const key = Buffer.from(this.issuerCert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
    const hash = (alg: string, data: Buffer) => createHash(alg).update(data).digest('hex');
    this.nameHashes = new Map([
      [SHA1_OID, hash('sha1', name)],
      [SHA256_OID, hash('sha256', name)],
    ]);
    this.keyHashes = new Map([
      [SHA1_OID, hash('sha1', key)],
      [SHA256_OID, hash('sha256', key)],
    ]);
  }

  /** Whether the first CertID of a DER OCSPRequest names this responder's CA (false on garbage). */
  answersFor(requestDer: Uint8Array): boolean {
    try {
      const certId = pkijs.OCSPRequest.fromBER(new Uint8Array(requestDer)).tbsRequest.requestList[0]?.reqCert;
      if (!certId) return false;
      const hashOid = certId.hashAlgorithm.algorithmId;
      const hex = (v: asn1js.OctetString) => Buffer.from(v.valueBlock.valueHexView).toString('hex');
      return (
        this.nameHashes.get(hashOid) === hex(certId.issuerNameHash) &&
        this.keyHashes.get(hashOid) === hex(certId.issuerKeyHash)
      );
    } catch {
      return false;
    }
  }

  /** Answers one DER OCSPRequest with a DER OCSPResponse; never throws. */
  async respond(requestDer: Uint8Array, now = Date.now()): Promise<Buffer> {
    if (!(requestDer instanceof Uint8Array) || requestDer.length > MAX_OCSP_REQUEST_BYTES) {
      return statusOnly(OCSP_RESPONSE_STATUS.malformedRequest);
    }
    let request: pkijs.OCSPRequest;
    try {
      readSingle(requestDer); // DER, and nothing after it
      request = pkijs.OCSPRequest.fromBER(new Uint8Array(requestDer));
    } catch {
      return statusOnly(OCSP_RESPONSE_STATUS.malformedRequest);
    }
    const list = request.tbsRequest.requestList;
    if (list.length === 0 || list.length > MAX_OCSP_REQUEST_ITEMS) {
      return statusOnly(OCSP_RESPONSE_STATUS.malformedRequest);
    }
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === NONCE_OID);
    if (nonce && !nonceAcceptable(nonce.extnValue.valueBlock.valueHexView)) {
      return statusOnly(OCSP_RESPONSE_STATUS.malformedRequest);
    }
    try {
      return await this.answer(list, nonce, now);
    } catch {
      return statusOnly(OCSP_RESPONSE_STATUS.internalError);
    }
  }

  private async answer(
    list: pkijs.Request[],
    nonce: pkijs.Extension | undefined,
    now: number,
  ): Promise<Buffer> {
    const basic = new pkijs.BasicOCSPResponse();
    const data = basic.tbsResponseData;
    data.responderID = this.issuerCert.subject;
    data.producedAt = floorSecond(now);
    for (const item of list) {
      const certId = item.reqCert;
      const hashOid = certId.hashAlgorithm.algorithmId;
      const hex = (v: asn1js.OctetString) => Buffer.from(v.valueBlock.valueHexView).toString('hex');
      const ours =
        this.nameHashes.get(hashOid) === hex(certId.issuerNameHash) &&
        this.keyHashes.get(hashOid) === hex(certId.issuerKeyHash);
      const serial = normalizeSerial(
        Buffer.from(certId.serialNumber.valueBlock.valueHexView).toString('hex'),
      );
      const answer: CertificateStatusAnswer = ours ? await this.lookup(serial) : { status: 'unknown' };
      data.responses.push(
        new pkijs.SingleResponse({
          certID: certId,
          certStatus: certStatus(answer),
          thisUpdate: floorSecond(now),
          nextUpdate: floorSecond(now + this.validityMs),
        }),
      );
    }
    if (nonce) data.responseExtensions = [nonce];
    basic.certs = [this.issuerCert];

    const issuer = describeIssuer(this.issuer);
    basic.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: issuer.signatureAlgorithm.oid });
    data.tbsView = new Uint8Array(data.toSchema(true).toBER(false));
    basic.signature = new asn1js.BitString({ valueHex: signAsIssuer(issuer, data.tbsView) });

    const response = new pkijs.OCSPResponse();
    response.responseStatus.valueBlock.valueDec = OCSP_RESPONSE_STATUS.successful;
    response.responseBytes = new pkijs.ResponseBytes({
      responseType: BASIC_RESPONSE_OID,
      response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER(false) }),
    });
    return Buffer.from(response.toSchema().toBER(false));
  }
}

/**
 * Responders of several CAs behind one URL (the current and the previous issuing CA during an
 * issuing CA rotation): a request goes to the CA its first CertID names, else to the first one.
 */
export class OcspResponderSet {
  constructor(private readonly responders: readonly OcspResponder[]) {}

  respond(requestDer: Uint8Array, now = Date.now()): Promise<Buffer> {
    const small = requestDer instanceof Uint8Array && requestDer.length <= MAX_OCSP_REQUEST_BYTES;
    const responder =
      (small && this.responders.length > 1 && this.responders.find((r) => r.answersFor(requestDer))) ||
      this.responders[0]!;
    return responder.respond(requestDer, now);
  }
}
