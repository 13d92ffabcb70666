// `vitalgate restore`: rebuilds a hub from a whole-hub backup onto an empty data dir. The backup is
// verified in full first; then every part is decrypted into a staging dir next to the target, the
// master key is checked against the backup and the restored control plane, the CA bundle is
// written, the InfluxDB series are restored into the staging dir's managed influxd (started on a
// private port for that and stopped again) or into an external InfluxDB that lacks the database,
// and only then does the staging dir become the data dir. On any failure the staging dir is
// removed: nothing changed. The spool comes back with its cursor, so the next start replays its
// records into InfluxDB; points that are also in the InfluxDB backup are overwritten with
// themselves (same series, same time), so each reading is stored once.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import { quoteIdentifier } from '../../core/influx.js';
import { MASTER_KEY_FILE, masterKeyCheck } from '../../core/keyring.js';
import { CertificateAuthority } from '../../pki/authority.js';
import { openContext } from '../context.js';
import { startInfluxd } from '../influxd.js';
import { databaseExists, endpointOf, hubInflux, restoreInflux, type InfluxEndpoint } from './influx-parts.js';
import { awaitImport } from './influx-import.js';
import { partPath, type BackupManifest } from './manifest.js';
import { openSealedFile, type KeySource } from './sealed-part.js';
import { verifyBackup, type VerifiedBackup } from './verify-backup.js';

export interface RestoreOptions {
  /** The backup. */
  from: string;
  /** The hub to rebuild: its dataDir must be empty or absent; influxUrl, if set, an InfluxDB without the database. */
  config: HubConfig;
  keySource: KeySource;
  /** Written as `<data dir>/master.key` when the config has no VITALGATE_MASTER_KEY. */
  masterKey: Buffer;
  actor: string;
  onProgress?: (step: 'verify' | 'decrypt' | 'influxdb', done: number, total: number) => void;
}

export interface RestoreReport {
  backupId: string;
  manifest: BackupManifest;
  dataDir: string;
  parts: number;
  spoolRecords: number;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const { config } = options;
  const dataDir = resolve(config.dataDir);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new VitalGateError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${dataDir} is not empty: restore onto an empty data dir`,
    );
  const progress = options.onProgress ?? (() => {});
  const verified = await verifyBackup(options.from, options.keySource, (d, t) => progress('verify', d, t));
  if (verified.manifest.masterKeyCheck !== masterKeyCheck(options.masterKey))
    throw new VitalGateError(
      'MASTER_KEY_MISMATCH',
      'the master key is not the one of the backed-up hub (after a rotation, give the key the backup was taken under)',
    );
  const createdParent = mkdirSync(dirname(dataDir), { recursive: true });
  const staging = `${dataDir}.restoring-${randomBytes(4).toString('hex')}`;
  mkdirSync(staging, { mode: 0o700 });
  try {
    await decryptParts(options.from, verified, staging, (d, t) => progress('decrypt', d, t));
    if (!config.masterKey)
      writeFileSync(join(staging, MASTER_KEY_FILE), `${options.masterKey.toString('base64')}\n`, {
        mode: 0o600,
      });
    const ctx = openContext({ ...config, dataDir: staging });
    try {
      const authority = await CertificateAuthority.load({ store: ctx.store, keyring: ctx.keyring, config });
      writeFileSync(join(staging, 'ca.pem'), authority.caBundlePem(), { mode: 0o644 });
      // Last, as it may write outside the staging dir (an external InfluxDB).
      await restoreSeries(config, staging, verified);
      progress('influxdb', 1, 1);
      ctx.store.audit.append({
        actor: options.actor,
        action: 'backup.restore',
        outcome: 'success',
        details: { backupId: verified.manifest.backupId, startedAt: verified.manifest.startedAt },
      });
    } finally {
      ctx.close();
    }
    rmSync(join(staging, '.influxdb-backup'), { recursive: true, force: true });
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(staging, dataDir);
  } catch (err) {
    rmSync(createdParent ?? staging, { recursive: true, force: true });
    throw err;
  }
  return {
    backupId: verified.manifest.backupId,
    manifest: verified.manifest,
    dataDir,
    parts: verified.manifest.parts.length,
    spoolRecords: verified.manifest.counts.spoolRecords,
  };
}

async function decryptParts(
  from: string,
  { manifest, keys }: VerifiedBackup,
  staging: string,
  onProgress: (done: number, total: number) => void,
): Promise<void> {
  mkdirSync(join(staging, 'spool'), { mode: 0o700 });
  mkdirSync(join(staging, '.influxdb-backup'), { mode: 0o700 });
  for (const [i, part] of manifest.parts.entries()) {
    const to =
      part.kind === 'influxdb'
        ? join(staging, '.influxdb-backup', part.name.slice('influxdb/'.length))
        : join(staging, part.name);
    await openSealedFile(keys, manifest.backupId, part.name, partPath(from, part.name), to);
    onProgress(i + 1, manifest.parts.length);
  }
}

/** Restores the series into the staging dir's managed influxd, or into the external InfluxDB. */
async function restoreSeries(
  config: HubConfig,
  staging: string,
  { manifest }: VerifiedBackup,
): Promise<void> {
  // A database without shards has no series, and influxd 1.6 refuses to restore only its
  // metadata ("DB metadata not changed"): the hub creates the database at its next start.
  if (!manifest.parts.some((p) => p.kind === 'influxdb' && p.name.endsWith('.tar.gz'))) return;
  let influx: InfluxEndpoint;
  if (config.influxUrl) {
    influx = await hubInflux(config);
    if (await databaseExists(influx.client))
      throw new VitalGateError(
        'RESTORE_TARGET_NOT_EMPTY',
        `InfluxDB at VITALGATE_INFLUX_URL already has the database ${config.influxDb}: drop it or name another with VITALGATE_INFLUX_DB`,
      );
  } else {
    const dir = join(staging, 'influxdb');
    influx = endpointOf(await startInfluxd({ dir, port: 0 }), dir, config.influxDb);
  }
  try {
    await restoreInflux(influx.rpc, manifest.influxDb, join(staging, '.influxdb-backup'), config.influxDb);
    await awaitImport({
      client: influx.client,
      backupDir: join(staging, '.influxdb-backup'),
      ...(config.influxUrl ? {} : { databaseDir: join(staging, 'influxdb', 'data', config.influxDb) }),
      window: manifest.counts.telemetry,
    });
  } catch (err) {
    // It did not exist before: what a failed restore left of it goes too.
    if (config.influxUrl)
      await influx.client.query(`DROP DATABASE ${quoteIdentifier(config.influxDb)}`).catch(() => undefined);
    throw err;
  } finally {
    await influx.release();
  }
}
