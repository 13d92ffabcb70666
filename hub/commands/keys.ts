// `vitalgate keys rotate-master`: seals everything sealed under the master key under a new one
// (core/master-key-rotation.ts), with the hub stopped, resumable after a crash, audited.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { VitalGateError } from '../../core/errors.js';
import { masterKeyCheck, readMasterKeyFile } from '../../core/keyring.js';
import { MasterKeyRotation } from '../../core/master-key-rotation.js';
import { cliActor, optionalString, requireString, usageError, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { lockForMaintenance, type DataDirLock } from '../data-dir-lock.js';

const DEFAULT_BATCH = 500;

/** Replaces the key file in one step (a crash leaves the old file or the new one, never half). */
function replaceKeyFile(file: string, key: Buffer): void {
  const next = `${file}.next`;
  const fd = openSync(next, 'w', 0o600);
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(next, file);
}

export const keysRotateMaster: CommandSpec = {
  name: 'keys rotate-master',
  summary: 'Seal every data key and hub secret under a new master key (the hub must be stopped).',
  usage: 'keys rotate-master --new-key FILE [--batch N] [--json]',
  options: { 'new-key': { type: 'string' }, batch: { type: 'string' } },
  details: [
    'FILE holds the new key as base64 of 32 bytes, mode 0600 (e.g. openssl rand -base64 32 > FILE).',
    'Re-wraps every data key and re-seals the CA keys and TOTP secrets; readings and demographics',
    'stay as they are (they are sealed under the data keys). Pseudonyms do not change.',
    'Stop the hub first. If the rotation is interrupted, run the same command again: it resumes.',
    'With the key in <data dir>/master.key, the file is replaced at the end; with',
    'VITALGATE_MASTER_KEY, set it to the new key before the next start. The old key is refused from',
    'then on; keep it only as long as you keep backups taken under it.',
  ],
  async run(args, io) {
    const keyFile = resolve(requireString(args, 'new-key'));
    const batchText = optionalString(args, 'batch') ?? String(DEFAULT_BATCH);
    const batch = Number(batchText);
    if (!Number.isInteger(batch) || batch < 1 || batch > 100_000)
      throw usageError('--batch must be a whole number from 1 to 100000');
    const config = readConfig(args, io.env);
    let newKey: Buffer;
    try {
      newKey = readMasterKeyFile(keyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw usageError(`--new-key: no such file ${keyFile}`);
      throw err;
    }
    const ctx = openContext(config, { rotation: true });
    // The hub's own lock on the data dir: no hub runs while the keys change, and none can start.
    let lock: DataDirLock;
    try {
      lock = lockForMaintenance(config.dataDir, 'rotate the master key');
    } catch (err) {
      ctx.close();
      throw err;
    }
    try {
      const rotation = new MasterKeyRotation(ctx.store.db, ctx.masterKey.key, newKey);
      const actor = cliActor();
      let resumed: boolean;
      try {
        resumed = rotation.begin().resumed;
      } catch (err) {
        ctx.store.audit.append({
          actor,
          action: 'keys.rotate_master',
          outcome: 'failure',
          details: { code: (err as VitalGateError).code ?? 'ERROR' },
        });
        throw err;
      }
      ctx.store.audit.append({
        actor,
        action: 'keys.rotate_master',
        outcome: 'success',
        details: { phase: resumed ? 'resumed' : 'started', newKeyCheck: rotation.toCheck },
      });
      const progress = rotation.progress();
      const all = progress.reduce((n, p) => n + p.total, 0);
      let done = progress.reduce((n, p) => n + p.done, 0);
      for (let batchDone = rotation.step(batch); batchDone; batchDone = rotation.step(batch)) {
        done += batchDone.sealed;
        io.err(`rotate-master: ${done} of ${all} sealed values under the new key (${batchDone.table})`);
      }
      const keyInPlace = masterKeyCheck(ctx.masterKey.key) === rotation.toCheck;
      if (ctx.masterKey.origin !== 'env' && !keyInPlace) replaceKeyFile(ctx.masterKey.origin, newKey);
      rotation.finish();
      ctx.store.audit.append({
        actor,
        action: 'keys.rotate_master',
        outcome: 'success',
        details: { phase: 'finished', sealedValues: all, newKeyCheck: rotation.toCheck },
      });
      const where =
        ctx.masterKey.origin === 'env'
          ? 'set VITALGATE_MASTER_KEY to the new key before the next start'
          : `the new key is in ${ctx.masterKey.origin}`;
      if (args.values.json)
        io.json({ rotated: true, resumed, sealedValues: all, keyFile: ctx.masterKey.origin });
      else
        io.out(
          `master key rotated: ${all} sealed values under the new key; ${where}; the old key is refused now`,
        );
    } finally {
      ctx.close();
      lock.release();
    }
  },
};
