// Issuing CA rotation: a new issuing CA under the same root. The old one becomes the previous
// issuer: for the overlap its certificates keep working (trust bundle, trust anchors, its own CRL,
// OCSP), while renewals and new enrollments get certificates of the new one. At the overlap's end
// the authority revokes the previous issuing CA (the root's CRL lists it). The hub's server
// certificate moves to the new issuer at once; the command signer stays (devices pin it).
import { VitalGateError } from '../core/errors.js';
import {
  CertificateAuthority,
  pkiUrls,
  recordCertificate,
  serverHosts,
  type AuthorityDeps,
} from './authority.js';
import {
  CRL_BARE_ISSUER_KEY,
  ISSUER_OVERLAP_UNTIL_KEY,
  PREVIOUS_ISSUING,
  issuerUrls,
  loadIssuingCa,
  loadMaterial,
} from './ca-material.js';
import { exportPkcs8, generateKeyPair, importPkcs8 } from './crypto-provider.js';
import { createIssuingCa, issueServerCertificate, normalizeSerial } from './profiles.js';

const DAY = 86_400_000;
const GENERATION_KEY = 'issuer_generation';
export const MAX_OVERLAP_DAYS = 3650;

export interface IssuerRotation {
  previousSerial: string;
  issuingSerial: string;
  issuingSubject: string;
  /** When the previous issuing CA stops being trusted, ms. */
  overlapUntil: number;
  authority: CertificateAuthority;
}

/**
 * Rotates the issuing CA. The caller keeps the hub stopped (the data-dir lock): the running hub
 * holds the issuing key in memory. Refused while the previous rotation's overlap still runs.
 */
export async function rotateIssuingCa(
  deps: AuthorityDeps,
  options: { overlapDays: number; actor: string },
): Promise<IssuerRotation> {
  const now = (deps.now ?? Date.now)();
  const { store, keyring } = deps;
  const { overlapDays, actor } = options;
  const refuse = (code: string, message: string): never => {
    store.audit.append({ actor, action: 'pki.issuer.rotate', outcome: 'failure', details: { code } });
    throw new VitalGateError(code, message);
  };
  if (!Number.isInteger(overlapDays) || overlapDays < 1 || overlapDays > MAX_OVERLAP_DAYS) {
    refuse('OVERLAP_INVALID', `the overlap must be a whole number of days from 1 to ${MAX_OVERLAP_DAYS}`);
  }
  const current = await CertificateAuthority.load(deps); // NOT_INITIALIZED before init
  const running = current.previousIssuer;
  if (running && now < running.overlapUntil) {
    refuse(
      'ISSUER_ROTATION_IN_PROGRESS',
      `the previous issuing CA is in its overlap until ${new Date(running.overlapUntil).toISOString()}: rotate again after that`,
    );
  }
  const old = await loadIssuingCa(deps, 'issuing');
  const root = loadMaterial(deps, 'root');
  const rootIssuer = { certificate: root.certificate, key: await importPkcs8(root.pkcs8, 'P-384') };
  const generation = Number(store.meta.get(GENERATION_KEY) ?? 1) + 1;
  const keys = await generateKeyPair('P-256');
  const issuing = await createIssuingCa(
    keys.publicKey,
    rootIssuer,
    `VitalGate Issuing CA G${generation}`,
    now,
  );
  const issuingSerial = normalizeSerial(issuing.serialNumber);
  const issuingPkcs8 = await exportPkcs8(keys.privateKey);
  // Trusting the old issuer longer than it is valid gains nothing.
  const overlapUntil = Math.min(now + overlapDays * DAY, old.certificate.notAfter.getTime());
  const bareIssuer = store.meta.get(CRL_BARE_ISSUER_KEY) ?? old.serial;

  const serverKeys = await generateKeyPair('P-256');
  const server = await issueServerCertificate({
    commonName: deps.config.publicHost,
    hosts: serverHosts(deps.config),
    publicKey: serverKeys.publicKey,
    issuer: { certificate: issuing, key: keys.privateKey },
    urls: issuerUrls(bareIssuer, issuingSerial, pkiUrls(deps.config)),
    validityDays: 365,
    now,
  });
  const serverPkcs8 = await exportPkcs8(serverKeys.privateKey);

  let tagged = 0;
  store.transaction(() => {
    tagged = store.certificates.tagUntaggedIssuer(old.serial);
    store.pkiMaterial.put(
      PREVIOUS_ISSUING,
      old.certificate.toString('pem'),
      keyring.sealSecret(`pki:${PREVIOUS_ISSUING}`, old.pkcs8),
    );
    store.pkiMaterial.put(
      'issuing',
      issuing.toString('pem'),
      keyring.sealSecret('pki:issuing', issuingPkcs8),
    );
    store.pkiMaterial.put('server', server.toString('pem'), keyring.sealSecret('pki:server', serverPkcs8));
    recordCertificate(deps, issuing, 'ca', null);
    recordCertificate(deps, server, 'server', null, issuingSerial);
    store.meta.set(ISSUER_OVERLAP_UNTIL_KEY, String(overlapUntil));
    store.meta.set(CRL_BARE_ISSUER_KEY, bareIssuer);
    store.meta.set(GENERATION_KEY, String(generation));
  });
  store.audit.append({
    actor,
    action: 'pki.issuer.rotate',
    target: `certificate:${issuingSerial}`,
    outcome: 'success',
    details: {
      previous: old.serial,
      issuing: issuingSerial,
      overlapUntil,
      server: normalizeSerial(server.serialNumber),
      certificatesTagged: tagged,
    },
  });
  const authority = await CertificateAuthority.load(deps);
  await authority.publishRevocationList(); // both issuing CAs' CRLs, and the root's
  return {
    previousSerial: old.serial,
    issuingSerial,
    issuingSubject: issuing.subject,
    overlapUntil,
    authority,
  };
}
