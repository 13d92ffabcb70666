// Whole-hub backup commands: `backup` (online, encrypted, with a manifest), `backup verify`,
// `backup drill` and `restore`. The work is in hub/backup/; these are the CLI's edge: options,
// progress on a TTY, a summary at the end, audit entries as `cli:<os user>`.
import { join, resolve } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import { loadMasterKey, readMasterKeyFile } from '../../core/keyring.js';
import { latestBackup, runDrill } from '../backup/drill.js';
import { readBackupKeyFile } from '../backup/sealed-part.js';
import { restoreBackup } from '../backup/restore-backup.js';
import { backupKeySource, LAST_VERIFIED_BACKUP, scheduledBackupName } from '../backup/schedule.js';
import { takeBackup } from '../backup/take-backup.js';
import { verifyBackup } from '../backup/verify-backup.js';
import {
  cliActor,
  optionalString,
  requirePositional,
  requireString,
  usageError,
  type CliIo,
  type CommandSpec,
  type ParsedArgs,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export { LAST_VERIFIED_BACKUP };

const KEY_OPTIONS = { 'key-file': { type: 'string' }, 'master-key': { type: 'string' } } as const;

/** `\r<step> done/total` on stderr while on a TTY (not with --json); `done()` clears the line. */
function progressLine(args: ParsedArgs, io: CliIo) {
  const on = io.isTTY && !args.values.json;
  return {
    step: (step: string, done: number, total: number) => {
      if (on) process.stderr.write(`\r\x1b[K${step} ${done}/${total}`);
    },
    done: () => {
      if (on) process.stderr.write('\r\x1b[K');
    },
  };
}

/** The master key: --master-key FILE, else VITALGATE_MASTER_KEY, else `<data dir>/master.key`. */
function masterKeyOf(args: ParsedArgs, config: HubConfig): Buffer {
  const file = optionalString(args, 'master-key');
  if (!file)
    return loadMasterKey({
      dataDir: config.dataDir,
      ...(config.masterKey ? { base64: config.masterKey } : {}),
    }).key;
  try {
    return readMasterKeyFile(file);
  } catch (err) {
    if (err instanceof VitalGateError) throw err;
    throw new VitalGateError('MASTER_KEY_MISSING', `master key file ${file} cannot be read`);
  }
}

const parts = (n: number) => `${n} part${n === 1 ? '' : 's'}`;
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

export const backup: CommandSpec = {
  name: 'backup',
  summary:
    'Whole-hub backup while the hub runs: control plane, InfluxDB series, spool; encrypted, with a manifest.',
  usage: 'backup [--to DIR] [--key-file FILE] [--json]',
  options: { to: { type: 'string' }, 'key-file': { type: 'string' } },
  details: [
    'Without --to, into a new VITALGATE_BACKUP_DIR/vitalgate-<UTC time> (kept as the scheduled ones are).',
    'DIR must be new or empty and outside the data dir. Writes DIR/manifest.json (SHA-256 of every part,',
    'counts, an HMAC) and DIR/parts/*.vgb (AES-256-GCM). The key is derived from the master key with',
    'HKDF, or read from --key-file / VITALGATE_BACKUP_KEY_FILE; the master key is never in the backup.',
    'InfluxDB is backed up with influxd backup -portable (the managed one, or VITALGATE_INFLUX_BACKUP_ADDRESS).',
    'Check it with "vitalgate backup verify DIR"; prove it with "vitalgate backup drill".',
  ],
  async run(args, io) {
    const config = readConfig(args, io.env);
    const to = optionalString(args, 'to');
    if (!to && !config.backupDir) throw usageError('--to is required when VITALGATE_BACKUP_DIR is unset');
    const dir = resolve(to ?? join(config.backupDir!, scheduledBackupName(new Date())));
    const ctx = openContext(config);
    const progress = progressLine(args, io);
    const started = Date.now();
    try {
      const manifest = await takeBackup({
        config: ctx.config,
        db: ctx.store.db,
        keySource: backupKeySource(ctx.config, ctx.masterKey.key, optionalString(args, 'key-file')),
        dir,
        onProgress: progress.step,
      }).catch((err: unknown) => {
        ctx.store.audit.append({
          actor: cliActor(),
          action: 'backup.create',
          outcome: 'failure',
          details: { error: err instanceof VitalGateError ? err.code : 'UNEXPECTED' },
        });
        throw err;
      });
      progress.done();
      ctx.store.meta.set(LAST_VERIFIED_BACKUP, manifest.completedAt);
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'backup.create',
        outcome: 'success',
        details: { backupId: manifest.backupId, parts: manifest.parts.length },
      });
      const bytes = manifest.parts.reduce((n, p) => n + p.bytes, 0);
      if (args.values.json) {
        io.json({
          dir,
          masterKeyIncluded: false,
          backupId: manifest.backupId,
          parts: manifest.parts.length,
          bytes,
          counts: manifest.counts,
        });
        return;
      }
      const points = Object.values(manifest.counts.telemetry.points).reduce((n, p) => n + p, 0);
      io.out(
        `backup ${dir}: ${parts(manifest.parts.length)}, ${mib(bytes)}; ${manifest.counts.auditEntries} audit entries, ` +
          `${manifest.counts.devices} devices, ${points} InfluxDB points, ${manifest.counts.spoolRecords} spool records to replay ` +
          `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    } finally {
      progress.done();
      ctx.close();
    }
  },
};

export const backupVerify: CommandSpec = {
  name: 'backup verify',
  summary:
    'Check a backup without restoring it: manifest MAC, every part’s SHA-256 and tag, the control plane.',
  usage: 'backup verify DIR [--key-file FILE] [--master-key FILE] [--json]',
  options: KEY_OPTIONS,
  details: ['Exit 1 names the first part that fails (changed, missing, or not in the manifest).'],
  async run(args, io) {
    const dir = resolve(requirePositional(args, 0, 'the backup directory'));
    const config = readConfig(args, io.env);
    const progress = progressLine(args, io);
    try {
      // With a backup key file, verifying needs no master key.
      const keyFile = optionalString(args, 'key-file') ?? config.backupKeyFile;
      const source = keyFile
        ? readBackupKeyFile(keyFile)
        : backupKeySource(config, masterKeyOf(args, config));
      const { manifest, bytes } = await verifyBackup(dir, source, (d, t) => progress.step('verify', d, t));
      progress.done();
      if (args.values.json)
        io.json({ ok: true, dir, backupId: manifest.backupId, parts: manifest.parts.length, bytes });
      else
        io.out(
          `backup ${dir} verifies: ${parts(manifest.parts.length)}, ${mib(bytes)}, taken ${manifest.startedAt}`,
        );
    } finally {
      progress.done();
    }
  },
};

export const backupDrill: CommandSpec = {
  name: 'backup drill',
  summary: 'Restore the latest backup into a temp dir and compare it with the live hub (VG-DATA-009).',
  usage: 'backup drill [--from DIR] [--key-file FILE] [--json]',
  options: { from: { type: 'string' }, 'key-file': { type: 'string' } },
  details: [
    'Without --from, the newest finished backup in VITALGATE_BACKUP_DIR. Starts nothing of the hub that',
    'listens (a private influxd on a loopback port holds the restored series while they are counted).',
    'Exit 1 when a comparison fails; the result is recorded and audited.',
  ],
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    const progress = progressLine(args, io);
    try {
      const explicit = optionalString(args, 'from');
      if (!explicit && !ctx.config.backupDir)
        throw usageError('--from is required when VITALGATE_BACKUP_DIR is unset');
      const from = explicit ? resolve(explicit) : latestBackup(ctx.config.backupDir!);
      const report = await runDrill({
        from,
        config: ctx.config,
        store: ctx.store,
        keySource: backupKeySource(ctx.config, ctx.masterKey.key, optionalString(args, 'key-file')),
        masterKey: ctx.masterKey.key,
        actor: cliActor(),
        onProgress: progress.step,
      });
      progress.done();
      if (args.values.json) io.json(report);
      else {
        for (const c of report.comparisons) io.out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail}`);
        io.out(`drill ${report.passed ? 'passed' : 'FAILED'}: ${from}`);
      }
      return report.passed ? 0 : 1;
    } finally {
      progress.done();
      ctx.close();
    }
  },
};

export const restore: CommandSpec = {
  name: 'restore',
  summary: 'Rebuild a hub from a backup onto an empty data dir; refuses a changed or incomplete backup.',
  usage: 'restore --from DIR [--master-key FILE] [--key-file FILE] [--json]',
  options: { from: { type: 'string' }, ...KEY_OPTIONS },
  details: [
    'The data dir (VITALGATE_DATA_DIR) must be empty or absent. The master key comes from',
    'VITALGATE_MASTER_KEY or --master-key FILE (copied to <data dir>/master.key); it must be the backed-up',
    "hub's. The backup is verified in full before anything is written; on any failure nothing changes.",
    'The spool comes back and is replayed into InfluxDB at the next "vitalgate start".',
  ],
  async run(args, io) {
    const from = resolve(requireString(args, 'from'));
    const config = readConfig(args, io.env);
    if (!config.masterKey && !optionalString(args, 'master-key'))
      throw usageError('--master-key FILE is required when VITALGATE_MASTER_KEY is unset');
    const masterKey = masterKeyOf(args, config);
    const progress = progressLine(args, io);
    try {
      const report = await restoreBackup({
        from,
        config,
        keySource: backupKeySource(config, masterKey, optionalString(args, 'key-file')),
        masterKey,
        actor: cliActor(),
        onProgress: progress.step,
      });
      progress.done();
      const { manifest: _manifest, ...summary } = report;
      if (args.values.json) io.json(summary);
      else
        io.out(
          `restored backup ${report.backupId} into ${report.dataDir}: ${parts(report.parts)}; ` +
            `${report.spoolRecords} spool records are written to InfluxDB at the next start`,
        );
    } finally {
      progress.done();
    }
  },
};
