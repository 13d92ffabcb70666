// `vitalgate backup drill`: proves the latest backup restores. It restores it into a private temp
// data dir (a managed influxd on a loopback port of its own for the series; nothing of the hub
// listens), then compares: the restored control plane with the manifest (counts and hashes), the
// live audit chain holds the backup's newest entry with the same hash, the CA certificates match
// the live ones, the spool holds the records the manifest counted, and the restored InfluxDB holds
// at least the points counted at backup time and no more than the live one. The temp dir is
// removed afterwards; the result is recorded for VG-DATA-009 and audited.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import { InfluxClient } from '../../core/influx.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { SPOOL_DIR } from '../../ingest/pipeline.js';
import { recoverSpool } from '../../ingest/spool-recovery.js';
import { startInfluxd } from '../influxd.js';
import { inspectControlPlane } from './control-plane-copy.js';
import { countPoints, hubInflux } from './influx-parts.js';
import { MANIFEST_FILE } from './manifest.js';
import { restoreBackup } from './restore-backup.js';
import type { KeySource } from './sealed-part.js';
import { compareFacts } from './verify-backup.js';

export const DRILL_PASSED_KEY = 'backup_drill_passed_at';
export const DRILL_LAST_KEY = 'backup_drill_last';

export interface DrillComparison {
  what: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  passed: boolean;
  backup: string;
  backupId: string;
  comparisons: DrillComparison[];
}

/** The newest finished backup (holding a manifest) directly under `root`. */
export function latestBackup(root: string): string {
  const found = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(root, e.name, MANIFEST_FILE)))
        .map((e) => ({ name: e.name, completedAt: completedAt(join(root, e.name, MANIFEST_FILE)) }))
        .sort((a, b) => a.completedAt.localeCompare(b.completedAt) || a.name.localeCompare(b.name))
    : [];
  const newest = found[found.length - 1];
  if (!newest) throw new VitalGateError('BACKUP_NOT_FOUND', `no finished backup in ${root}`);
  return join(root, newest.name);
}

/** When a backup finished, as its manifest says (only to choose one; the drill authenticates it). */
function completedAt(file: string): string {
  try {
    const value = (JSON.parse(readFileSync(file, 'utf8')) as { completedAt?: unknown }).completedAt;
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

export interface DrillOptions {
  from: string;
  config: HubConfig;
  /** The live control plane. */
  store: ControlPlane;
  keySource: KeySource;
  masterKey: Buffer;
  actor: string;
  onProgress?: (step: string, done: number, total: number) => void;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { config, store } = options;
  const temp = mkdtempSync(join(tmpdir(), 'vg-drill-'));
  const dataDir = join(temp, 'data');
  const drillConfig: HubConfig = { ...config, dataDir, influxUrl: undefined };
  const comparisons: DrillComparison[] = [];
  const compare = (what: string, ok: boolean, detail: string) => comparisons.push({ what, ok, detail });
  let backupId = '';
  try {
    const restored = await restoreBackup({
      from: options.from,
      config: drillConfig,
      keySource: options.keySource,
      masterKey: options.masterKey,
      actor: options.actor,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    backupId = restored.backupId;
    const manifest = restored.manifest;
    const facts = inspectControlPlane(join(dataDir, 'control-plane.sqlite'));
    // The restore itself appended one audit entry.
    const before = { ...facts, auditEntries: facts.auditEntries - 1, auditHead: manifest.counts.auditHead };
    try {
      compareFacts(before, manifest);
      compare(
        'control plane',
        true,
        `${facts.devices} devices, ${facts.certificates} certificates, ${facts.patients} patients, as recorded`,
      );
    } catch (err) {
      compare('control plane', false, (err as Error).message);
    }
    const head = manifest.counts.auditHead;
    const live = head
      ? (store.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(head.id) as
          { hash: string } | undefined)
      : undefined;
    compare(
      'audit chain',
      !head || live?.hash === head.hash,
      head
        ? `entry ${head.id} ${live?.hash === head.hash ? 'has the same hash live' : 'differs from the live chain'}`
        : 'empty',
    );
    const liveCas = store.pkiMaterial
      .list()
      .filter((m) => m.name === 'root' || m.name === 'issuing')
      .map((m) => m.certificatePem);
    const liveFingerprints = liveCas.map((pem) => createHash('sha256').update(pem).digest('hex'));
    compare(
      'CA certificates',
      liveFingerprints.join() === facts.caFingerprints.join(),
      `${facts.caFingerprints.length} CA certificates`,
    );
    const spool = recoverSpool(join(dataDir, SPOOL_DIR));
    const pending = Math.max(0, spool.nextLsn - spool.cursor.lsn);
    compare(
      'spool',
      pending === manifest.counts.spoolRecords,
      `${pending} records to replay (manifest: ${manifest.counts.spoolRecords})`,
    );
    await compareSeries(drillConfig, config, manifest.counts.telemetry, compare);
  } catch (err) {
    compare('restore', false, (err as Error).message);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const passed = comparisons.length > 0 && comparisons.every((c) => c.ok);
  const at = new Date().toISOString();
  store.meta.set(DRILL_LAST_KEY, JSON.stringify({ at, passed, backupId }));
  if (passed) store.meta.set(DRILL_PASSED_KEY, at);
  store.audit.append({
    actor: options.actor,
    action: 'backup.drill',
    outcome: passed ? 'success' : 'failure',
    details: { backupId, failed: comparisons.filter((c) => !c.ok).map((c) => c.what) },
  });
  if (!passed)
    store.securityEvents.add({ kind: 'backup_drill_failed', severity: 'high', details: { backupId } });
  return { passed, backup: options.from, backupId, comparisons };
}

async function compareSeries(
  drillConfig: HubConfig,
  liveConfig: HubConfig,
  window: { from: string; to: string; points: Record<string, number> },
  compare: (what: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const from = new Date(window.from);
  const to = new Date(window.to);
  const restoredInflux = await startInfluxd({ dir: join(drillConfig.dataDir, 'influxdb'), port: 0 });
  let restored: Record<string, number>;
  try {
    restored = await countPoints(
      new InfluxClient({ url: restoredInflux.url, database: drillConfig.influxDb }),
      from,
      to,
    );
  } finally {
    await restoredInflux.stop();
  }
  const live = await hubInflux(liveConfig);
  let current: Record<string, number>;
  try {
    current = await countPoints(live.client, from, to);
  } finally {
    await live.release();
  }
  for (const measurement of new Set([...Object.keys(window.points), ...Object.keys(restored)])) {
    const recorded = window.points[measurement] ?? 0;
    const got = restored[measurement] ?? 0;
    const now = current[measurement] ?? 0;
    compare(
      `InfluxDB ${measurement}`,
      got >= recorded && got <= now,
      `${got} points restored (${recorded} counted at backup time, ${now} live)`,
    );
  }
}
