// `vitalgate ca rotate-issuer`: a new issuing CA under the same root, with an overlap in which
// devices on the old one keep working (pki/issuer-rotation.ts). The hub must be stopped: it holds
// the issuing key in memory, and the data-dir lock keeps it from starting meanwhile.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_OVERLAP_DAYS, rotateIssuingCa } from '../../pki/issuer-rotation.js';
import { cliActor, optionalString, usageError, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { lockForMaintenance, type DataDirLock } from '../data-dir-lock.js';

export const caRotateIssuer: CommandSpec = {
  name: 'ca rotate-issuer',
  summary: 'Make a new issuing CA under the same root; the old one stays trusted for an overlap.',
  usage: 'ca rotate-issuer [--overlap-days N] [--json]',
  options: { 'overlap-days': { type: 'string' } },
  details: [
    'Stop the hub first; start it again afterwards (devices reconnect on their own).',
    'From then on enrollments and renewals get certificates of the new issuing CA, and so does the',
    "hub's server certificate. Devices holding certificates of the old one keep connecting until the",
    'overlap ends (default: VITALGATE_DEVICE_CERT_DAYS, so every old certificate can renew first;',
    "at most the old issuing CA's own validity). Then the old issuing CA is revoked on the root's",
    'CRL and its certificates are refused. The CRLs of both are served (GET /pki/crl?issuer=SERIAL).',
    'Check VG-PKI-012 reports devices still on the old issuing CA near the end of the overlap.',
    "Refused while the previous rotation's overlap still runs. The CA bundle file",
    '<data dir>/ca.pem is rewritten with both issuing CAs.',
  ],
  async run(args, io) {
    const config = readConfig(args, io.env);
    const text = optionalString(args, 'overlap-days') ?? String(config.deviceCertDays);
    const overlapDays = Number(text);
    if (!/^\d+$/.test(text) || overlapDays < 1 || overlapDays > MAX_OVERLAP_DAYS) {
      throw usageError(`--overlap-days must be a whole number of days from 1 to ${MAX_OVERLAP_DAYS}`);
    }
    const ctx = openContext(config);
    let lock: DataDirLock;
    try {
      lock = lockForMaintenance(config.dataDir, 'rotate the issuing CA');
    } catch (err) {
      ctx.close();
      throw err;
    }
    try {
      const rotation = await rotateIssuingCa(
        { store: ctx.store, keyring: ctx.keyring, config },
        { overlapDays, actor: cliActor() },
      );
      const caFile = join(config.dataDir, 'ca.pem');
      if (existsSync(caFile)) writeFileSync(caFile, rotation.authority.caBundlePem(), { mode: 0o644 });
      const overlapUntil = new Date(rotation.overlapUntil).toISOString();
      if (args.values.json) {
        io.json({
          rotated: true,
          issuing: rotation.issuingSerial,
          subject: rotation.issuingSubject,
          previous: rotation.previousSerial,
          overlapUntil,
        });
        return;
      }
      io.out(`new issuing CA ${rotation.issuingSubject} (serial ${rotation.issuingSerial})`);
      io.out(
        `certificates of the previous issuing CA (serial ${rotation.previousSerial}) are accepted until ${overlapUntil}`,
      );
      io.out('start the hub again; renewals and enrollments now get certificates of the new issuing CA');
    } finally {
      ctx.close();
      lock.release();
    }
  },
};
