// The hub's certificate authority: root CA → issuing CA, the server and command-signer
// certificates, device certificates from accepted CSRs, revocation and the CRL/OCSP views of it.
// CA private keys are sealed under the master key at rest. Every action is audited.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { HubConfig } from '../core/config.js';
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import type { CertificatePurpose, CertificateRecord, RevocationReason } from '../core/store/certificates.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { exportPkcs8, generateKeyPair, importPkcs8, pkcs8ToPem, x509 } from './crypto-provider.js';
import type { AcceptedCsr } from './csr.js';
import { buildRevocationList, type RevocationList } from './crl.js';
import { OcspResponder, OcspResponderSet, type CertificateStatusAnswer } from './ocsp.js';
import { selfSignedTwin } from './trust-anchor.js';
import {
  CRL_BARE_ISSUER_KEY,
  issuerUrls,
  loadIssuingCa,
  loadMaterial,
  loadPrevious,
  type IssuingCa,
  type Material,
  type PreviousIssuer,
} from './ca-material.js';
import {
  createIssuingCa,
  createRootCa,
  issueCommandSignerCertificate,
  issueDeviceCertificate,
  issueServerCertificate,
  normalizeSerial,
  type Issuer,
  type PkiUrls,
} from './profiles.js';

const CRL_NUMBER_KEY = 'crl_number';
const CRL_PEM_KEY = 'crl_pem';
const ROOT_CRL_PEM_KEY = 'root_crl_pem';
const PREVIOUS_CRL_PEM_KEY = 'previous_crl_pem';
const SERVER_CERT_DAYS = 365;

export interface AuthorityDeps {
  store: ControlPlane;
  keyring: Keyring;
  config: HubConfig;
  now?: () => number;
}

export interface IssuedDeviceCertificate {
  serial: string;
  certificatePem: string;
  /** Issuing CA then root, PEM. */
  chainPem: string;
  notAfter: number;
}

export function serverHosts(config: HubConfig): string[] {
  const hosts = new Set([config.publicHost, 'localhost', '127.0.0.1', '::1']);
  if (config.bind !== '0.0.0.0' && config.bind !== '::') hosts.add(config.bind);
  return [...hosts];
}

export class CertificateAuthority {
  private readonly now: () => number;
  private revocationList: RevocationList | undefined;
  private readonly listeners = new Set<(crl: RevocationList) => void>();
  private ocsp: OcspResponderSet | undefined;
  private trustAnchor: string | undefined;
  private boundApiPort: number | undefined;

  private constructor(
    private readonly deps: AuthorityDeps,
    private readonly root: Material,
    private readonly issuing: IssuingCa,
    private readonly server: Material,
    private readonly signer: Material,
    private readonly previous: PreviousIssuer | undefined,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Creates the CA hierarchy if it does not exist yet; never rotates an existing CA. */
  static async initialize(
    deps: AuthorityDeps,
    actor: string,
  ): Promise<{ authority: CertificateAuthority; created: boolean }> {
    const now = (deps.now ?? Date.now)();
    const { store, keyring } = deps;
    const created = store.pkiMaterial.get('root') === undefined;
    if (created) {
      const rootKeys = await generateKeyPair('P-384');
      const root = await createRootCa(rootKeys, 'VitalGate Root CA', now);
      const issuingKeys = await generateKeyPair('P-256');
      const issuing = await createIssuingCa(
        issuingKeys.publicKey,
        { certificate: root, key: rootKeys.privateKey },
        'VitalGate Issuing CA',
        now,
      );
      const rootPkcs8 = await exportPkcs8(rootKeys.privateKey);
      const issuingPkcs8 = await exportPkcs8(issuingKeys.privateKey);
      store.transaction(() => {
        store.pkiMaterial.put('root', root.toString('pem'), keyring.sealSecret('pki:root', rootPkcs8));
        store.pkiMaterial.put(
          'issuing',
          issuing.toString('pem'),
          keyring.sealSecret('pki:issuing', issuingPkcs8),
        );
        recordCertificate(deps, root, 'ca', null);
        recordCertificate(deps, issuing, 'ca', null);
      });
      store.audit.append({
        actor,
        action: 'pki.ca.create',
        target: 'pki:root',
        outcome: 'success',
        details: { root: normalizeSerial(root.serialNumber), issuing: normalizeSerial(issuing.serialNumber) },
      });
    }
    const root = loadMaterial(deps, 'root');
    const issuing = await loadIssuingCa(deps, 'issuing');
    const urls = issuerUrls(deps.store.meta.get(CRL_BARE_ISSUER_KEY), issuing.serial, pkiUrls(deps.config));
    const server = await ensureLeaf(deps, 'server', actor, issuing.serial, async (publicKey) =>
      issueServerCertificate({
        commonName: deps.config.publicHost,
        hosts: serverHosts(deps.config),
        publicKey,
        issuer: issuing,
        urls,
        validityDays: SERVER_CERT_DAYS,
        now,
      }),
    );
    const signer = await ensureLeaf(deps, 'command-signer', actor, issuing.serial, async (publicKey) =>
      issueCommandSignerCertificate({
        publicKey,
        issuer: issuing,
        urls,
        validityDays: SERVER_CERT_DAYS * 2,
        now,
      }),
    );
    const authority = new CertificateAuthority(deps, root, issuing, server, signer, await loadPrevious(deps));
    if (deps.store.meta.get(ROOT_CRL_PEM_KEY) === undefined) await authority.publishRevocationList();
    return { authority, created };
  }

  /** Loads an initialised CA; fails with NOT_INITIALIZED otherwise. */
  static async load(deps: AuthorityDeps): Promise<CertificateAuthority> {
    if (!deps.store.pkiMaterial.get('root') || !deps.store.pkiMaterial.get('server')) {
      throw new VitalGateError('NOT_INITIALIZED', 'the hub PKI is not initialised: run "vitalgate init"');
    }
    return new CertificateAuthority(
      deps,
      loadMaterial(deps, 'root'),
      await loadIssuingCa(deps, 'issuing'),
      loadMaterial(deps, 'server'),
      loadMaterial(deps, 'command-signer'),
      await loadPrevious(deps),
    );
  }

  get rootPem(): string {
    return this.root.certificate.toString('pem');
  }

  get issuingPem(): string {
    return this.issuing.certificate.toString('pem');
  }

  get rootCertificate(): x509.X509Certificate {
    return this.root.certificate;
  }

  get issuingCertificate(): x509.X509Certificate {
    return this.issuing.certificate;
  }

  /** The issuing CA before the last rotation while it is still in service (its overlap). */
  get previousIssuer():
    { certificate: x509.X509Certificate; serial: string; overlapUntil: number } | undefined {
    const p = this.previous;
    return p && { certificate: p.issuer.certificate, serial: p.issuer.serial, overlapUntil: p.overlapUntil };
  }

  /** Serial of the current issuing CA certificate (normalized hex). */
  get issuingSerial(): string {
    return this.issuing.serial;
  }

  /** The issuing CAs whose device certificates are accepted: the current one, and the previous one during its overlap. */
  issuingCertificates(): x509.X509Certificate[] {
    return this.issuersInService().map((i) => i.certificate);
  }

  /** Issuing CA(s) and root, PEM: what devices and browsers trust. During an issuing CA overlap both issuing CAs. */
  caBundlePem(): string {
    return `${this.issuersInService()
      .map((i) => `${i.certificate.toString('pem')}\n`)
      .join('')}${this.rootPem}\n`;
  }

  /**
   * The CRL and OCSP URLs that go into issued certificates. Throws PKI_URL_UNREACHABLE while none
   * would reach the hub (VITALGATE_API_PORT=0 before the API is bound, see useApiPort), so that
   * no certificate names a port 0.
   */
  urls(): PkiUrls {
    const urls = issuerUrls(
      this.deps.store.meta.get(CRL_BARE_ISSUER_KEY),
      this.issuing.serial,
      pkiUrls(this.deps.config, this.boundApiPort),
    );
    if (!urls) {
      throw new VitalGateError(
        'PKI_URL_UNREACHABLE',
        'no reachable URL for the CRL and OCSP endpoints yet: set VITALGATE_PKI_PUBLIC_URL, or a VITALGATE_API_PORT other than 0, and a VITALGATE_PUBLIC_HOST devices can reach',
      );
    }
    return urls;
  }

  /** The port the API listens on; with VITALGATE_API_PORT=0 the PKI URLs name it from now on. */
  useApiPort(port: number): void {
    if (Number.isSafeInteger(port) && port > 0 && port < 65536) this.boundApiPort = port;
  }

  /**
   * The trust anchor for the device listener's OpenSSL chain check: the issuing CA re-signed by
   * its own key (trust-anchor.ts), so that handshakes stop at the issuing CA. Made once per
   * process; never handed out.
   */
  deviceTrustAnchorPem(): string {
    this.trustAnchor ??= this.issuersInService().map(selfSignedTwin).join('');
    return this.trustAnchor;
  }

  /** Key and certificate chain (server, the issuing CA that signed it) for the MQTT and HTTPS listeners. */
  serverTls(): { key: string; cert: string } {
    const server = this.server.certificate;
    const issuer =
      [this.issuing, this.previous?.issuer].find((i) => i && server.issuer === i.certificate.subject) ??
      this.issuing;
    return {
      key: pkcs8ToPem(this.server.pkcs8),
      cert: `${server.toString('pem')}\n${issuer.certificate.toString('pem')}\n`,
    };
  }

  commandSigner(): { key: KeyObject; certificatePem: string } {
    return {
      key: createPrivateKey({ key: this.signer.pkcs8, format: 'der', type: 'pkcs8' }),
      certificatePem: this.signer.certificate.toString('pem'),
    };
  }

  /**
   * Signs a device certificate for a CSR that passed `acceptDeviceCsr`. The caller has already
   * established who may ask (an enrollment token, or the current certificate for renewal).
   * Records the certificate; does not change the device's status.
   */
  async issueDeviceCertificate(deviceId: string, csr: AcceptedCsr): Promise<IssuedDeviceCertificate> {
    const certificate = await issueDeviceCertificate({
      deviceId,
      publicKey: csr.publicKey,
      issuer: this.issuing,
      urls: this.urls(),
      validityDays: this.deps.config.deviceCertDays,
      now: this.now(),
    });
    const record = recordCertificate(this.deps, certificate, 'device', deviceId, this.issuing.serial);
    return {
      serial: record.serial,
      certificatePem: record.certificatePem,
      chainPem: `${this.issuingPem}\n${this.rootPem}\n`,
      notAfter: record.notAfter,
    };
  }

  /** Revokes one certificate and republishes the CRL. False if it was revoked already. */
  async revoke(serial: string, reason: RevocationReason, actor: string): Promise<boolean> {
    const key = normalizeSerial(serial);
    const changed = this.deps.store.certificates.revoke(key, reason);
    this.deps.store.audit.append({
      actor,
      action: 'pki.certificate.revoke',
      target: `certificate:${key}`,
      outcome: changed ? 'success' : 'failure',
      details: { reason },
    });
    if (changed) await this.publishRevocationList();
    return changed;
  }

  /** Revokes every unrevoked certificate of a device. Returns the revoked serials. */
  async revokeDevice(deviceId: string, reason: RevocationReason, actor: string): Promise<string[]> {
    const serials = this.deps.store.certificates
      .listForDevice(deviceId)
      .filter((c) => c.status !== 'revoked')
      .map((c) => c.serial);
    const revoked: string[] = [];
    for (const serial of serials) {
      if (this.deps.store.certificates.revoke(serial, reason)) revoked.push(serial);
    }
    this.deps.store.audit.append({
      actor,
      action: 'pki.device.revoke',
      target: `device:${deviceId}`,
      outcome: 'success',
      details: { reason, serials: revoked },
    });
    if (revoked.length > 0) await this.publishRevocationList();
    return revoked;
  }

  /** Revokes superseded certificates whose renewal grace has passed (reason: superseded). */
  async retireSupersededCertificates(): Promise<string[]> {
    const due = this.deps.store.certificates
      .listByStatus('superseded')
      .filter((c) => c.graceUntil !== null && c.graceUntil <= this.now());
    for (const c of due) this.deps.store.certificates.revoke(c.serial, 'superseded');
    if (due.length > 0) {
      this.deps.store.audit.append({
        actor: 'system',
        action: 'pki.certificate.retire',
        outcome: 'success',
        details: { serials: due.map((c) => c.serial) },
      });
      await this.publishRevocationList();
    }
    return due.map((c) => c.serial);
  }

  /** The current CRL; regenerated when its nextUpdate is less than a quarter of its life away. */
  async currentRevocationList(): Promise<RevocationList> {
    if (await this.retireEndedIssuer()) return this.revocationList!;
    const crl = this.revocationList ?? this.loadPublishedList();
    const validityMs = this.deps.config.crlValidityHours * 3_600_000;
    if (!crl || crl.nextUpdate - this.now() < validityMs / 4) return this.publishRevocationList();
    this.revocationList = crl;
    return crl;
  }

  /** The CRL number last published by any process on this data dir (hub or CLI). */
  publishedRevocationNumber(): number {
    return Number(this.deps.store.meta.get(CRL_NUMBER_KEY) ?? 0);
  }

  /** Re-reads the CRL another process published (e.g. the CLI revoked a device). */
  reloadPublishedRevocationList(): RevocationList | undefined {
    const crl = this.loadPublishedList();
    if (crl && crl.number !== this.revocationList?.number) {
      this.revocationList = crl;
      for (const listener of this.listeners) listener(crl);
    }
    return crl;
  }

  async publishRevocationList(): Promise<RevocationList> {
    const now = this.now();
    const number = this.deps.store.meta.increment(CRL_NUMBER_KEY);
    const build = async (
      issuer: Issuer,
      listing: Parameters<ControlPlane['certificates']['listRevokedUnexpiredBy']>[1],
    ) =>
      buildRevocationList({
        issuer,
        number,
        entries: this.deps.store.certificates.listRevokedUnexpiredBy(now, listing).map((c) => ({
          serial: c.serial,
          revokedAt: c.revokedAt ?? now,
          reason: c.revocationReason ?? 'unspecified',
        })),
        now,
        validityMs: this.deps.config.crlValidityHours * 3_600_000,
      });
    // Certificates made before the first issuing CA rotation carry no issuer tag: they are the
    // current issuer's until a rotation tags them.
    const crl = await build(this.issuing, { issuerSerial: this.issuing.serial, untagged: true });
    const previous = this.previous?.issuer;
    const previousCrl =
      previous && (await build(previous, { issuerSerial: previous.serial, untagged: false }));
    // The root's CRL over the issuing CAs goes out with it: TLS stacks that check CRLs for the
    // whole chain (Node does) need one per CA. It lists an issuing CA retired after its overlap.
    const rootMaterial = loadMaterial(this.deps, 'root');
    const rootCrl = await build(
      { certificate: rootMaterial.certificate, key: await importPkcs8(rootMaterial.pkcs8, 'P-384') },
      'ca',
    );
    this.deps.store.transaction(() => {
      this.deps.store.meta.set(CRL_PEM_KEY, crl.pem);
      if (previousCrl) this.deps.store.meta.set(PREVIOUS_CRL_PEM_KEY, previousCrl.pem);
      this.deps.store.meta.set(ROOT_CRL_PEM_KEY, rootCrl.pem);
    });
    this.revocationList = crl;
    for (const listener of this.listeners) listener(crl);
    return crl;
  }

  /** The CRLs of every CA (issuing, previous issuing during an overlap, root), PEM, for a TLS context that checks client certificates. */
  tlsRevocationPem(): string[] {
    const keys = [CRL_PEM_KEY, ...(this.previous ? [PREVIOUS_CRL_PEM_KEY] : []), ROOT_CRL_PEM_KEY];
    return keys.map((k) => this.deps.store.meta.get(k)).filter((pem): pem is string => pem !== undefined);
  }

  /**
   * The CRL `GET /pki/crl` serves: `issuer` is the serial (hex) of a CA the hub publishes a CRL
   * for (the current or previous issuing CA, or the root). Without it, the CRL of the issuing CA
   * whose certificates name the bare URL (the first one, while in service), else the current
   * one's. Undefined for an unknown issuer.
   */
  async revocationListFor(issuer?: string): Promise<RevocationList | undefined> {
    const current = await this.currentRevocationList();
    const wanted =
      issuer === undefined ? this.deps.store.meta.get(CRL_BARE_ISSUER_KEY) : normalizeSerial(issuer);
    if (wanted === undefined || wanted === this.issuing.serial) return current;
    if (this.previous && wanted === this.previous.issuer.serial)
      return this.loadPublishedList(PREVIOUS_CRL_PEM_KEY);
    if (wanted === normalizeSerial(this.root.certificate.serialNumber))
      return this.loadPublishedList(ROOT_CRL_PEM_KEY);
    return issuer === undefined ? current : undefined;
  }

  onRevocationListChange(listener: (crl: RevocationList) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  certificateStatus(serial: string): CertificateStatusAnswer {
    const record = this.deps.store.certificates.get(normalizeSerial(serial));
    if (!record) return { status: 'unknown' };
    if (record.status === 'revoked') {
      return {
        status: 'revoked',
        revokedAt: record.revokedAt ?? 0,
        reason: record.revocationReason ?? 'unspecified',
      };
    }
    return { status: 'good' };
  }

  ocspResponder(): OcspResponderSet {
    const lookup = (serial: string) => this.certificateStatus(serial);
    this.ocsp ??= new OcspResponderSet(
      [this.issuing, ...(this.previous ? [this.previous.issuer] : [])].map(
        (i) => new OcspResponder(i, lookup),
      ),
    );
    return this.ocsp;
  }

  /** The issuing CAs in service: the current one, and the previous one until its overlap ends. */
  private issuersInService(): IssuingCa[] {
    const previous = this.previous && this.now() < this.previous.overlapUntil ? [this.previous.issuer] : [];
    return [this.issuing, ...previous];
  }

  /**
   * At the end of an issuing CA overlap the previous issuing CA is revoked (reason superseded):
   * the root's CRL lists it, so no certificate it signed passes the broker any more. True when
   * this call retired it (and republished the CRLs).
   */
  private async retireEndedIssuer(): Promise<boolean> {
    const previous = this.previous;
    if (!previous || this.now() < previous.overlapUntil) return false;
    if (this.deps.store.certificates.get(previous.issuer.serial)?.status === 'revoked') return false;
    const outstanding = this.deps.store.certificates.activeDevicesNotOnIssuer(this.issuing.serial).length;
    this.deps.store.certificates.revoke(previous.issuer.serial, 'superseded');
    this.deps.store.audit.append({
      actor: 'system',
      action: 'pki.issuer.retire',
      target: `certificate:${previous.issuer.serial}`,
      outcome: 'success',
      details: { overlapUntil: previous.overlapUntil, devicesStillOnIt: outstanding },
    });
    await this.publishRevocationList();
    return true;
  }

  private loadPublishedList(key = CRL_PEM_KEY): RevocationList | undefined {
    const pem = this.deps.store.meta.get(key);
    if (!pem) return undefined;
    const crl = new x509.X509Crl(pem);
    return {
      number: this.publishedRevocationNumber(),
      thisUpdate: crl.thisUpdate.getTime(),
      nextUpdate: crl.nextUpdate?.getTime() ?? 0,
      der: Buffer.from(crl.rawData),
      pem,
    };
  }
}

/**
 * Where relying parties fetch the CRL and ask OCSP: VITALGATE_PKI_PUBLIC_URL, else the API on the
 * public host and port (`boundApiPort` when VITALGATE_API_PORT is 0). Undefined when no relying
 * party could reach it: port 0 before the API is bound, or an unspecified address as the host.
 */
export function pkiUrls(config: HubConfig, boundApiPort?: number): PkiUrls | undefined {
  let base: string;
  if (config.pkiPublicUrl) {
    base = config.pkiPublicUrl.replace(/\/+$/, '');
  } else {
    const port = config.apiPort || boundApiPort || 0;
    if (port === 0 || UNSPECIFIED_HOSTS.has(config.publicHost)) return undefined;
    const host = config.publicHost.includes(':') ? `[${config.publicHost}]` : config.publicHost;
    base = `https://${host}:${port}`;
  }
  return { crl: `${base}/pki/crl`, ocsp: `${base}/pki/ocsp` };
}

const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Issues a hub leaf certificate (server, command signer) unless a valid one exists (or `renew`). */
export async function ensureLeaf(
  deps: AuthorityDeps,
  name: 'server' | 'command-signer',
  actor: string,
  issuerSerial: string,
  issue: (publicKey: CryptoKey) => Promise<x509.X509Certificate>,
  renew = false,
): Promise<Material> {
  const now = (deps.now ?? Date.now)();
  const existing = deps.store.pkiMaterial.get(name);
  if (existing && !renew) {
    const certificate = new x509.X509Certificate(existing.certificatePem);
    const stillValid = certificate.notAfter.getTime() - now > 30 * 86_400_000;
    const hostsMatch = name !== 'server' || sameHosts(certificate, serverHosts(deps.config));
    if (stillValid && hostsMatch) return loadMaterial(deps, name);
  }
  const keys = await generateKeyPair('P-256');
  const certificate = await issue(keys.publicKey);
  const pkcs8 = await exportPkcs8(keys.privateKey);
  deps.store.transaction(() => {
    deps.store.pkiMaterial.put(
      name,
      certificate.toString('pem'),
      deps.keyring.sealSecret(`pki:${name}`, pkcs8),
    );
    recordCertificate(deps, certificate, name === 'server' ? 'server' : 'command-signer', null, issuerSerial);
  });
  deps.store.audit.append({
    actor,
    action: 'pki.certificate.issue',
    target: `certificate:${normalizeSerial(certificate.serialNumber)}`,
    outcome: 'success',
    details: { purpose: name },
  });
  return { certificate, pkcs8 };
}

function sameHosts(certificate: x509.X509Certificate, hosts: string[]): boolean {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const names = new Set((san?.names.toJSON() ?? []).map((n) => n.value));
  return hosts.every((h) => names.has(h));
}

export function recordCertificate(
  deps: AuthorityDeps,
  certificate: x509.X509Certificate,
  purpose: CertificatePurpose,
  deviceId: string | null,
  issuerSerial: string | null = null,
): CertificateRecord {
  return deps.store.certificates.add({
    serial: normalizeSerial(certificate.serialNumber),
    deviceId,
    purpose,
    subject: certificate.subject,
    notBefore: certificate.notBefore.getTime(),
    notAfter: certificate.notAfter.getTime(),
    certificatePem: certificate.toString('pem'),
    issuerSerial,
  });
}
