// The TLS policy every listener of the hub shares (device MQTT and the HTTPS API): TLS 1.2 or
// newer, and only AEAD suites with forward secrecy. TLS 1.3 suites are all AEAD with (EC)DHE;
// for TLS 1.2 that leaves ECDHE with AES-GCM or ChaCha20-Poly1305. No CBC, no static RSA.
export const TLS_MIN_VERSION = 'TLSv1.2' as const;

export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');
