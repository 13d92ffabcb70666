// How a failed handshake is named: OpenSSL's verdict on the client certificate first, then
// Node's error code.
import { describe, expect, it } from 'vitest';
import { classifyTlsFailure } from '../../../broker/tls-listener.js';

describe('classifyTlsFailure', () => {
  it.each([
    ['CERT_REVOKED', 'CERTIFICATE_REVOKED'],
    ['CERT_HAS_EXPIRED', 'CERTIFICATE_EXPIRED'],
    ['CERT_NOT_YET_VALID', 'CERTIFICATE_NOT_YET_VALID'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERTIFICATE_UNTRUSTED'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERTIFICATE_UNTRUSTED'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERTIFICATE_UNTRUSTED'],
    ['UNABLE_TO_GET_CRL', 'CRL_UNAVAILABLE'],
    ['CRL_HAS_EXPIRED', 'CRL_UNAVAILABLE'],
    ['INVALID_PURPOSE', 'CERTIFICATE_INVALID'],
  ])('verify error %s is %s', (verify, code) => {
    expect(classifyTlsFailure({ code: 'ECONNRESET' }, verify)).toBe(code);
  });

  it.each([
    ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'NO_CLIENT_CERTIFICATE'],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'HANDSHAKE_TIMEOUT'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'NOT_TLS'],
    ['ERR_SSL_HTTP_REQUEST', 'NOT_TLS'],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'TLS_PARAMETERS_REFUSED'],
    ['ERR_SSL_NO_SHARED_CIPHER', 'TLS_PARAMETERS_REFUSED'],
    ['ECONNRESET', 'HANDSHAKE_ABORTED'],
    [undefined, 'HANDSHAKE_ABORTED'],
  ])('error %s is %s', (code, expected) => {
    expect(classifyTlsFailure({ code }, null)).toBe(expected);
  });
});
