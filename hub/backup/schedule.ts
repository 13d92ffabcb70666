// Scheduled whole-hub backups, run by the hub itself every VITALGATE_BACKUP_INTERVAL_HOURS into
// VITALGATE_BACKUP_DIR/vitalgate-<UTC time>/, keeping the newest VITALGATE_BACKUP_RETENTION. Each
// run is audited; a failed one also raises a `backup_failed` security event (high), as a
// refused device would, so it reaches the people who watch those.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { describeError } from '../../core/errors.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { MANIFEST_FILE, type BackupManifest } from './manifest.js';
import { readBackupKeyFile, type KeySource } from './sealed-part.js';
import { takeBackup } from './take-backup.js';

/** `meta` key VG-DATA-006 reads: when the last backup that verified was taken. */
export const LAST_VERIFIED_BACKUP = 'last_verified_backup_at';
const SCHEDULED = /^vitalgate-\d{8}T\d{6}Z$/;
const FIRST_RUN_MIN_DELAY_MS = 60_000;

/** The key backups are sealed under: VITALGATE_BACKUP_KEY_FILE (or --key-file), else the master key. */
export function backupKeySource(config: HubConfig, masterKey: Buffer, keyFile?: string): KeySource {
  const file = keyFile ?? config.backupKeyFile;
  return file ? readBackupKeyFile(file) : { kind: 'master-key', secret: masterKey };
}

export function scheduledBackupName(at: Date): string {
  return `vitalgate-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}

export interface ScheduledRun {
  ok: boolean;
  dir: string;
  manifest?: BackupManifest;
  error?: string;
  pruned: string[];
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ScheduledRun> | undefined;

  constructor(
    private readonly deps: {
      config: HubConfig;
      store: ControlPlane;
      masterKey: Buffer;
      now?: () => number;
      onError?: (message: string) => void;
    },
  ) {}

  /**
   * Starts the timer when VITALGATE_BACKUP_DIR is set. The first run is due one interval after the
   * last backup (of any kind), so restarts do not postpone it; at the earliest a minute after start
   * (or one interval, when that is shorter).
   */
  start(): void {
    const { config, store } = this.deps;
    if (!config.backupDir) return;
    const interval = config.backupIntervalHours * 3_600_000;
    const last = Date.parse(store.meta.get(LAST_VERIFIED_BACKUP) ?? '');
    const now = (this.deps.now ?? Date.now)();
    const due = Number.isFinite(last) ? last + interval - now : 0;
    this.timer = setTimeout(
      () => {
        void this.runOnce();
        this.timer = setInterval(() => void this.runOnce(), interval);
        this.timer.unref();
      },
      Math.min(Math.max(FIRST_RUN_MIN_DELAY_MS, due), interval),
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running;
  }

  /** One scheduled run (never two at once); never throws. */
  runOnce(): Promise<ScheduledRun> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<ScheduledRun> {
    const { config, store, masterKey } = this.deps;
    const root = config.backupDir!;
    const dir = join(root, scheduledBackupName(new Date((this.deps.now ?? Date.now)())));
    try {
      const manifest = await takeBackup({
        config,
        db: store.db,
        keySource: backupKeySource(config, masterKey),
        dir,
      });
      store.meta.set(LAST_VERIFIED_BACKUP, manifest.completedAt);
      const pruned = pruneBackups(root, config.backupRetention);
      store.audit.append({
        actor: 'system:schedule',
        action: 'backup.create',
        outcome: 'success',
        details: { backupId: manifest.backupId, parts: manifest.parts.length, pruned: pruned.length },
      });
      return { ok: true, dir, manifest, pruned };
    } catch (err) {
      const error = describeError(err);
      store.audit.append({
        actor: 'system:schedule',
        action: 'backup.create',
        outcome: 'failure',
        details: { error: error.slice(0, 200) },
      });
      store.securityEvents.add({
        kind: 'backup_failed',
        severity: 'high',
        details: { error: error.slice(0, 200) },
      });
      this.deps.onError?.(error);
      return { ok: false, dir, error, pruned: [] };
    }
  }
}

/** Deletes the oldest finished scheduled backups beyond `keep`, and unfinished ones older than those kept. */
export function pruneBackups(root: string, keep: number): string[] {
  if (!existsSync(root)) return [];
  const names = readdirSync(root)
    .filter((n) => SCHEDULED.test(n))
    .sort();
  const finished = names.filter((n) => existsSync(join(root, n, MANIFEST_FILE)));
  const kept = new Set(finished.slice(-keep));
  const oldestKept = [...kept][0] ?? '';
  const gone = names.filter((n) => !kept.has(n) && n < oldestKept);
  for (const name of gone) rmSync(join(root, name), { recursive: true, force: true });
  return gone;
}
