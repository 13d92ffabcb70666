// A whole-hub backup while the hub runs. Order matters for consistency: the spool first (all that
// was acknowledged and not yet confirmed), then the control plane (its `seq_windows` only names
// messages already in InfluxDB), then InfluxDB (which by then holds all those). Each part is
// sealed under the backup key and hashed; the manifest goes last, so a backup without one never
// finished. Nothing is left behind on failure but what was there before.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { Db } from '../../core/store/database.js';
import { copyControlPlane } from './control-plane-copy.js';
import { backupInflux, countPoints, databaseExists, hubInflux } from './influx-parts.js';
import {
  BACKUP_FORMAT,
  PARTS_DIR,
  partPath,
  writeManifest,
  type BackupManifest,
  type BackupPart,
} from './manifest.js';
import {
  backupKeyId,
  deriveBackupKeys,
  newSalt,
  PART_OVERHEAD,
  sealFile,
  type KeySource,
} from './sealed-part.js';
import { snapshotSpool } from './spool-snapshot.js';

const STAGING = '.staging';
const DAY_MS = 86_400_000;

export interface BackupProgress {
  (step: 'spool' | 'control-plane' | 'influxdb' | 'seal', done: number, total: number): void;
}

export interface TakeBackupOptions {
  config: HubConfig;
  /** The live control plane. */
  db: Db;
  keySource: KeySource;
  /** Must not exist yet, or be empty; never inside the data dir. */
  dir: string;
  onProgress?: BackupProgress;
  now?: () => number;
}

export async function takeBackup(options: TakeBackupOptions): Promise<BackupManifest> {
  const { config, keySource } = options;
  const dir = resolve(options.dir);
  const dataDir = resolve(config.dataDir);
  if (dir === dataDir || dir.startsWith(dataDir + sep) || dataDir.startsWith(dir + sep))
    throw new VitalGateError('USAGE', 'the backup directory must be outside the data dir');
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new VitalGateError('BACKUP_DIR_NOT_EMPTY', `${dir} is not empty: back up into a new directory`);
  const createdDir = !existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staging = join(dir, STAGING);
  const progress = options.onProgress ?? (() => {});
  const now = options.now ?? Date.now;
  try {
    mkdirSync(staging, { mode: 0o700 });
    const startedAt = new Date(now());
    const spool = snapshotSpool(config.dataDir, join(staging, 'spool'));
    progress('spool', 1, 1);
    const facts = await copyControlPlane(options.db, join(staging, 'control-plane.sqlite'), (done, total) =>
      progress('control-plane', done, total),
    );
    const influx = await hubInflux(config);
    let telemetry: BackupManifest['counts']['telemetry'];
    try {
      const from = new Date(startedAt.getTime() - config.retentionDays * DAY_MS + DAY_MS);
      const points = await countPoints(influx.client, from, startedAt);
      telemetry = { from: from.toISOString(), to: startedAt.toISOString(), points };
      // A hub that never started has no database yet: there is nothing to back up.
      if (await databaseExists(influx.client))
        await backupInflux(influx.rpc, config.influxDb, join(staging, 'influxdb'));
      else mkdirSync(join(staging, 'influxdb'), { mode: 0o700 });
    } finally {
      await influx.release();
    }
    progress('influxdb', 1, 1);

    const backupId = randomUUID();
    const salt = newSalt();
    const keys = deriveBackupKeys(keySource, salt);
    const plain: { name: string; kind: BackupPart['kind']; file: string }[] = [
      { name: 'control-plane.sqlite', kind: 'control-plane', file: join(staging, 'control-plane.sqlite') },
      ...readdirSync(join(staging, 'influxdb'))
        .sort()
        .map((f) => ({
          name: `influxdb/${f}`,
          kind: 'influxdb' as const,
          file: join(staging, 'influxdb', f),
        })),
      ...spool.files.map((f) => ({
        name: `spool/${f}`,
        kind: 'spool' as const,
        file: join(staging, 'spool', f),
      })),
    ];
    mkdirSync(join(dir, PARTS_DIR, 'influxdb'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, PARTS_DIR, 'spool'), { recursive: true, mode: 0o700 });
    const parts: BackupPart[] = [];
    for (const [i, p] of plain.entries()) {
      const sealed = await sealFile(keys, backupId, p.name, p.file, partPath(dir, p.name));
      parts.push({
        name: p.name,
        kind: p.kind,
        bytes: sealed.bytes,
        sealedBytes: sealed.bytes + PART_OVERHEAD,
        sha256: sealed.sha256,
      });
      progress('seal', i + 1, plain.length);
    }
    rmSync(staging, { recursive: true, force: true });
    const { masterKeyCheck, ...counts } = facts;
    return writeManifest(
      dir,
      {
        format: BACKUP_FORMAT,
        backupId,
        startedAt: startedAt.toISOString(),
        completedAt: new Date(now()).toISOString(),
        influxDb: config.influxDb,
        masterKeyCheck,
        masterKeyIncluded: false,
        key: { source: keySource.kind, salt: salt.toString('base64'), id: backupKeyId(keySource) },
        parts,
        counts: { ...counts, spoolRecords: spool.pendingRecords, telemetry },
      },
      keys,
    );
  } catch (err) {
    if (createdDir) rmSync(dir, { recursive: true, force: true });
    else for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    throw err;
  }
}
