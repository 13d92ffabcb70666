// Revocation of client certificates, checked by the broker instead of OpenSSL. Given CRLs, Node
// turns on X509_V_FLAG_CRL_CHECK_ALL and OpenSSL then verifies the signature of every CRL on the
// chain at every handshake: an ECDSA P-384 (root) and a P-256 (issuing CA) verification, about
// 1.1 ms of a 5 ms connect. The CRLs change only when the hub republishes them, so here their
// signatures, issuers and extensions are checked once, when they are loaded, and a handshake
// looks two serials up and compares two times. The rules are OpenSSL's with CRL_CHECK_ALL: every
// CA from the leaf's issuer up to the root needs a current CRL of its own, and neither the leaf
// nor any CA above it may be listed by its issuer.
import { X509Certificate, verify } from 'node:crypto';
import { x509 } from '../pki/crypto-provider.js';
import { normalizeSerial } from '../pki/profiles.js';
import { readCertificateParts, readCrlParts } from '../pki/x509-encoding.js';

export interface RevocationVerdict {
  code: 'CERTIFICATE_REVOKED' | 'CRL_UNAVAILABLE';
  /** OpenSSL's name for the same failure. */
  cause: 'CERT_REVOKED' | 'UNABLE_TO_GET_CRL' | 'CRL_HAS_EXPIRED' | 'CRL_NOT_YET_VALID';
}

/** What a certificate issued by one CA of the bundle is checked against. */
interface IssuerStatus {
  /** Serials in the CA's own CRL (normalized hex). */
  revoked: ReadonlySet<string>;
  /** The CA, or one above it, is listed in its issuer's CRL. */
  caRevoked: boolean;
  /** A CA on the path to the root has no CRL. */
  crlMissing: boolean;
  /** Latest thisUpdate and earliest nextUpdate of the CRLs on the path, ms. */
  validFrom: number;
  validUntil: number;
}

interface LoadedCrl {
  revoked: Set<string>;
  thisUpdate: number;
  nextUpdate: number;
}

interface Ca {
  cert: X509Certificate;
  subject: string;
  issuer: string;
  serial: string;
  crl?: LoadedCrl;
}

const HASHES: Readonly<Record<string, string>> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

export class ClientRevocation {
  private constructor(private readonly byIssuer: ReadonlyMap<string, IssuerStatus>) {}

  /**
   * The CA bundle (PEM) and the CRLs of its CAs (PEM). Throws on a CRL that does not parse, is
   * not signed by a CA of the bundle, or has a critical extension. Whether a CRL is in force is
   * a matter of time, so that is checked per handshake.
   */
  static load(caBundlePem: string, crlPems: string | readonly string[]): ClientRevocation {
    const cas: Ca[] = pemBlocks(caBundlePem, 'CERTIFICATE').map((pem) => {
      const cert = new X509Certificate(pem);
      const parts = readCertificateParts(cert.raw);
      return {
        cert,
        subject: nameKey(parts.subject),
        issuer: nameKey(parts.issuer),
        serial: normalizeSerial(cert.serialNumber),
      };
    });
    for (const pem of (typeof crlPems === 'string' ? [crlPems] : crlPems).flatMap((p) =>
      pemBlocks(p, 'X509 CRL'),
    )) {
      const { ca, crl } = verifiedCrl(pem, cas);
      if (!ca.crl || crl.thisUpdate > ca.crl.thisUpdate) ca.crl = crl; // the newest one counts
    }
    const byIssuer = new Map<string, IssuerStatus>();
    for (const ca of cas) {
      const status = pathStatus(ca, cas);
      const same = byIssuer.get(ca.subject);
      // Two CAs of one name (a re-keyed CA): a certificate naming it passes only what both pass.
      byIssuer.set(ca.subject, same ? stricter(same, status) : status);
    }
    return new ClientRevocation(byIssuer);
  }

  /**
   * `certDer` and `serialHex` are the verified client certificate's (TLS checked its chain
   * against the bundle). Undefined when it may connect as far as revocation goes.
   */
  check(certDer: Uint8Array, serialHex: string, now: number): RevocationVerdict | undefined {
    let status: IssuerStatus | undefined;
    try {
      status = this.byIssuer.get(nameKey(readCertificateParts(certDer).issuer));
    } catch {
      status = undefined;
    }
    if (!status || status.crlMissing) return { code: 'CRL_UNAVAILABLE', cause: 'UNABLE_TO_GET_CRL' };
    if (now < status.validFrom) return { code: 'CRL_UNAVAILABLE', cause: 'CRL_NOT_YET_VALID' };
    if (now >= status.validUntil) return { code: 'CRL_UNAVAILABLE', cause: 'CRL_HAS_EXPIRED' };
    if (status.caRevoked || status.revoked.has(normalizeSerial(serialHex))) {
      return { code: 'CERTIFICATE_REVOKED', cause: 'CERT_REVOKED' };
    }
    return undefined;
  }
}

/** Parses one CRL and finds the CA of the bundle that signed it; throws when there is none. */
function verifiedCrl(pem: string, cas: readonly Ca[]): { ca: Ca; crl: LoadedCrl } {
  const crl = new x509.X509Crl(pem);
  const parts = readCrlParts(new Uint8Array(crl.rawData));
  const issuer = nameKey(parts.issuer);
  const hash = HASHES[(crl.signatureAlgorithm as { hash?: { name?: string } }).hash?.name ?? ''];
  if (!hash) throw new Error('CRL signature algorithm not supported');
  const { tbs, signature } = parts;
  const ca = cas.find(
    (c) =>
      c.subject === issuer && verify(hash, tbs, { key: c.cert.publicKey, dsaEncoding: 'der' }, signature),
  );
  if (!ca) throw new Error('CRL not signed by a CA of the bundle');
  // OpenSSL refuses a CRL with a critical extension it does not handle (delta CRLs, indirect
  // CRLs, distribution points); the hub publishes none, so any critical extension is refused.
  if (
    crl.extensions.some((e) => e.critical) ||
    crl.entries.some((e) => e.extensions.some((x) => x.critical))
  ) {
    throw new Error('CRL has a critical extension');
  }
  return {
    ca,
    crl: {
      revoked: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))),
      thisUpdate: crl.thisUpdate.getTime(),
      nextUpdate: crl.nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY,
    },
  };
}

/** Walks from `ca` up to the self-signed root of the bundle, collecting CRLs and listings. */
function pathStatus(start: Ca, cas: readonly Ca[]): IssuerStatus {
  const status = {
    revoked: start.crl?.revoked ?? new Set<string>(),
    caRevoked: false,
    crlMissing: false,
    validFrom: Number.NEGATIVE_INFINITY,
    validUntil: Number.POSITIVE_INFINITY,
  };
  let ca: Ca | undefined = start;
  for (let depth = 0; ca && depth <= cas.length; depth++) {
    if (!ca.crl) return { ...status, crlMissing: true };
    status.validFrom = Math.max(status.validFrom, ca.crl.thisUpdate);
    status.validUntil = Math.min(status.validUntil, ca.crl.nextUpdate);
    const current: Ca = ca;
    const parent = cas.find((p) => p.subject === current.issuer && current.cert.checkIssued(p.cert));
    if (!parent) break; // above the bundle: TLS refuses such a chain as untrusted anyway
    if (!parent.crl) return { ...status, crlMissing: true };
    if (parent.crl.revoked.has(current.serial)) status.caRevoked = true;
    ca = parent === current ? undefined : parent;
  }
  return status;
}

function stricter(a: IssuerStatus, b: IssuerStatus): IssuerStatus {
  return {
    revoked: new Set([...a.revoked, ...b.revoked]),
    caRevoked: a.caRevoked || b.caRevoked,
    crlMissing: a.crlMissing || b.crlMissing,
    validFrom: Math.max(a.validFrom, b.validFrom),
    validUntil: Math.min(a.validUntil, b.validUntil),
  };
}

const nameKey = (der: Uint8Array) =>
  Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');

function pemBlocks(pem: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[^-]+-----END ${label}-----`, 'g');
  const blocks = pem.match(re) ?? [];
  if (pem.includes('-----BEGIN') && blocks.length === 0) throw new Error(`no ${label} in the PEM`);
  return blocks;
}
