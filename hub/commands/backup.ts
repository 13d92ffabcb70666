import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from '../../core/audit.js';
import { VitalGateError } from '../../core/errors.js';
import { cliActor, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const LAST_VERIFIED_BACKUP = 'last_verified_backup_at';

/**
 * Backs up the control plane with SQLite's online backup (safe while the hub runs), then
 * verifies the copy: SQLite integrity check and the audit hash chain. The master key is not
 * copied: keep it apart. InfluxDB has its own backup (`influxd backup -portable`).
 */
export const backup: CommandSpec = {
  name: 'backup',
  summary: 'Back up the control plane (online) and verify the copy; the master key is not included.',
  usage: 'backup --to DIR [--json]',
  options: { to: { type: 'string' } },
  details: [
    'Writes DIR/control-plane.sqlite and DIR/manifest.json (SHA-256, time, audit entries).',
    'Safe while the hub runs. Back up the master key separately; InfluxDB: influxd backup -portable.',
  ],
  async run(args, io) {
    const dir = resolve(requireString(args, 'to'));
    const ctx = openContext(readConfig(args, io.env));
    try {
      if (dir.startsWith(resolve(ctx.config.dataDir))) {
        throw new VitalGateError('USAGE', '--to must be outside the data dir');
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, 'control-plane.sqlite');
      const progress = io.isTTY && !args.values.json;
      await ctx.store.db.backup(file, {
        progress: ({ totalPages, remainingPages }) => {
          if (progress) process.stderr.write(`\rbackup ${totalPages - remainingPages}/${totalPages} pages`);
          return 200;
        },
      });
      if (progress) process.stderr.write('\r\x1b[K');
      const copy = new Database(file, { readonly: true, fileMustExist: true });
      let integrity: string;
      let chain;
      try {
        integrity = (copy.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
        chain = new AuditLog(copy).verify();
      } finally {
        copy.close();
      }
      if (integrity !== 'ok' || !chain.ok) {
        ctx.store.audit.append({
          actor: cliActor(),
          action: 'backup.create',
          outcome: 'failure',
          details: { integrity, chain: chain.ok },
        });
        throw new VitalGateError(
          'BACKUP_VERIFY_FAILED',
          `the backup copy did not verify (integrity: ${integrity}, audit chain: ${chain.ok ? 'ok' : 'broken'})`,
        );
      }
      const manifest = {
        createdAt: new Date().toISOString(),
        file: 'control-plane.sqlite',
        sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
        auditEntries: chain.checked,
        masterKeyIncluded: false,
      };
      writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      ctx.store.meta.set(LAST_VERIFIED_BACKUP, manifest.createdAt);
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'backup.create',
        outcome: 'success',
        details: { sha256: manifest.sha256 },
      });
      if (args.values.json) io.json({ dir, ...manifest });
      else
        io.out(
          `backup verified: ${file} (${chain.checked} audit entries, sha256 ${manifest.sha256.slice(0, 16)}…)`,
        );
    } finally {
      ctx.close();
    }
  },
};
