// Whole-hub backups against a real InfluxDB (a private influxd, reached as an external one through
// its backup address), real SQLite and real AES-GCM: a backup verifies and restores; one changed
// byte in any part, a missing part or another key is refused naming the part, and nothing is
// written; a crypto-shredded patient stays shredded; scheduled runs are audited and pruned; the
// drill records what VG-DATA-009 reads.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { isVitalGateError } from '../../../core/errors.js';
import { InfluxClient } from '../../../core/influx.js';
import { Keyring } from '../../../core/keyring.js';
import { PatientRegistry, patientKeySubject } from '../../../core/patient-registry.js';
import { restoreDrillPassed } from '../../../hub/checks/backup-drill.js';
import { openContext } from '../../../hub/context.js';
import { startInfluxd } from '../../../hub/influxd.js';
import { latestBackup, runDrill } from '../../../hub/backup/drill.js';
import { rpcAddressFromConfig } from '../../../hub/backup/influx-parts.js';
import { MANIFEST_FILE, partPath, readManifest } from '../../../hub/backup/manifest.js';
import { restoreBackup } from '../../../hub/backup/restore-backup.js';
import { BackupSchedule, backupKeySource } from '../../../hub/backup/schedule.js';
import { openSealedFile, type KeySource } from '../../../hub/backup/sealed-part.js';
import { takeBackup } from '../../../hub/backup/take-backup.js';
import { verifyBackup } from '../../../hub/backup/verify-backup.js';
import { SPOOL_DIR } from '../../../ingest/pipeline.js';
import { Spool } from '../../../ingest/spool.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { startPrivateInflux, type PrivateInflux } from '../../support/influx.js';

let influx: PrivateInflux;
let pki: TestPki;
let scratch: string;
let backup: string;
let master: KeySource;
let erasedPatient: string;
let erasedWrappedKey: Buffer;
let keptPatient: string;

beforeAll(async () => {
  influx = await startPrivateInflux();
  const rpc = rpcAddressFromConfig(join(influx.dir, 'influxdb.conf'))!;
  pki = await createTestPki({ VITALGATE_INFLUX_URL: influx.url, VITALGATE_INFLUX_BACKUP_ADDRESS: rpc });
  scratch = mkdtempSync(join(tmpdir(), 'vg-backup-test-'));
  master = { kind: 'master-key', secret: pki.masterKey.key };
  await pki.issueDevice('ox-1', 'pulse_oximeter');
  keptPatient = addPatient(pki, 'Kept');
  erasedPatient = addPatient(pki, 'Erased');
  erasedWrappedKey = (
    pki.store.db
      .prepare('SELECT wrapped FROM data_keys WHERE subject = ?')
      .get(patientKeySubject(erasedPatient)) as {
      wrapped: Buffer;
    }
  ).wrapped;
  new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit).erase(
    erasedPatient,
    'test',
    'request',
  );
  await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${pki.config.influxDb}`)}`, {
    method: 'POST',
  });
  const now = Date.now();
  const lines = Array.from({ length: 50 }, (_, i) => `telemetry,d=ox-1,t=spo2 c="x${i}" ${now - i * 1000}`);
  await fetch(`${influx.url}/write?db=${pki.config.influxDb}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  // Two records acknowledged but not yet in InfluxDB.
  const spool = Spool.open({
    dir: join(pki.dataDir, SPOOL_DIR),
    segmentBytes: 1 << 20,
    quotaBytes: 1 << 24,
    groupCommitMs: 0,
  });
  await spool.append(Buffer.from('first'));
  await spool.append(Buffer.from('second'));
  await spool.close();
  backup = join(scratch, 'b1');
  await takeBackup({ config: pki.config, db: pki.store.db, keySource: master, dir: backup });
}, 60_000);

afterAll(async () => {
  pki?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await influx?.dispose();
});

function targetConfig(name: string): HubConfig {
  return loadConfig({ env: { VITALGATE_DATA_DIR: join(scratch, name), VITALGATE_INFLUX_PORT: '0' } });
}

function copyOf(dir: string, name: string): string {
  const to = join(scratch, name);
  cpSync(dir, to, { recursive: true });
  return to;
}

describe('a whole-hub backup', () => {
  it('verifies, holds every kind of part, and never the master key', async () => {
    const { manifest } = await verifyBackup(backup, master);
    const kinds = new Set(manifest.parts.map((p) => p.kind));
    expect(kinds).toEqual(new Set(['control-plane', 'influxdb', 'spool']));
    expect(manifest.masterKeyIncluded).toBe(false);
    expect(manifest.counts.telemetry.points.telemetry).toBe(50);
    expect(manifest.counts.spoolRecords).toBe(2);
    const key = pki.masterKey.key;
    for (const p of manifest.parts) {
      const sealed = readFileSync(partPath(backup, p.name));
      expect(sealed.includes(key)).toBe(false);
      expect(sealed.includes(Buffer.from(key.toString('base64')))).toBe(false);
    }
  });

  it('restores onto an empty data dir: control plane, CA, series; the shredded patient stays shredded', async () => {
    const config = targetConfig('restored');
    await restoreBackup({
      from: backup,
      config,
      keySource: master,
      masterKey: pki.masterKey.key,
      actor: 'test',
    });
    const ctx = openContext(config);
    try {
      expect(ctx.store.devices.get('ox-1')?.status).toBe('active');
      expect(ctx.store.audit.verify().ok).toBe(true);
      expect(readFileSync(join(config.dataDir, 'ca.pem'), 'utf8')).toBe(pki.authority.caBundlePem());
      const registry = new PatientRegistry(ctx.store.patients, ctx.keyring, ctx.store.audit);
      expect(registry.get(keptPatient).name).toBe('Kept');
      let code = '';
      try {
        new Keyring(ctx.store.db, pki.masterKey.key).open(
          patientKeySubject(erasedPatient),
          1,
          Buffer.alloc(40),
          'x',
        );
      } catch (err) {
        code = isVitalGateError(err) ? err.code : 'other';
      }
      expect(code).toBe('KEY_DESTROYED');
    } finally {
      ctx.close();
    }
    // Not even a free page of the backed-up SQLite file holds the destroyed key.
    const { manifest, keys } = readManifest(backup, master);
    const plain = join(scratch, 'plain.sqlite');
    await openSealedFile(
      keys,
      manifest.backupId,
      'control-plane.sqlite',
      partPath(backup, 'control-plane.sqlite'),
      plain,
    );
    expect(erasedWrappedKey.length).toBeGreaterThan(16);
    expect(readFileSync(plain).includes(erasedWrappedKey)).toBe(false);
    rmSync(plain);
    // The series came back (restored into the data dir's managed InfluxDB).
    const restoredInflux = await startInfluxd({ dir: join(config.dataDir, 'influxdb'), port: 0 });
    try {
      const client = new InfluxClient({ url: restoredInflux.url, database: config.influxDb });
      const series = await client.query('SELECT count(c) FROM telemetry');
      expect(series[0]?.rows[0]?.count).toBe(50);
    } finally {
      await restoredInflux.stop();
    }
  }, 60_000);

  it('refuses a backup with one byte changed in any part, naming it, and writes nothing', async () => {
    const { manifest } = readManifest(backup, master);
    const files = [MANIFEST_FILE, ...manifest.parts.map((p) => `parts/${p.name}.vgb`)];
    for (const [i, file] of files.entries()) {
      const tampered = copyOf(backup, `tampered-${i}`);
      const path = join(tampered, file);
      const bytes = readFileSync(path);
      const at = file === MANIFEST_FILE ? bytes.indexOf('"sha256": "') + 12 : Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      writeFileSync(path, bytes);
      const config = targetConfig(`refused-${i}`);
      const before = readdirSync(scratch).sort();
      const err = await restoreBackup({
        from: tampered,
        config,
        keySource: master,
        masterKey: pki.masterKey.key,
        actor: 'test',
      }).catch((e: unknown) => e);
      expect(isVitalGateError(err), file).toBe(true);
      const name = file === MANIFEST_FILE ? MANIFEST_FILE : file.slice('parts/'.length, -'.vgb'.length);
      expect((err as Error).message).toContain(name);
      expect(existsSync(config.dataDir)).toBe(false);
      expect(readdirSync(scratch).sort()).toEqual(before);
      rmSync(tampered, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses an incomplete backup, one made with another key, and a non-empty target', async () => {
    const { manifest } = readManifest(backup, master);
    const incomplete = copyOf(backup, 'incomplete');
    const spoolPart = manifest.parts.find((p) => p.kind === 'spool')!;
    rmSync(partPath(incomplete, spoolPart.name));
    await expect(verifyBackup(incomplete, master)).rejects.toMatchObject({
      code: 'BACKUP_INCOMPLETE',
      message: expect.stringContaining(spoolPart.name),
    });
    rmSync(join(incomplete, MANIFEST_FILE));
    await expect(verifyBackup(incomplete, master)).rejects.toMatchObject({ code: 'BACKUP_INCOMPLETE' });
    const other: KeySource = { kind: 'key-file', secret: Buffer.alloc(32, 7) };
    await expect(verifyBackup(backup, other)).rejects.toMatchObject({ code: 'BACKUP_KEY_MISMATCH' });
    const occupied = targetConfig('occupied');
    mkdirSync(occupied.dataDir);
    writeFileSync(join(occupied.dataDir, 'keep'), 'x');
    await expect(
      restoreBackup({
        from: backup,
        config: occupied,
        keySource: master,
        masterKey: pki.masterKey.key,
        actor: 't',
      }),
    ).rejects.toMatchObject({ code: 'RESTORE_TARGET_NOT_EMPTY' });
    expect(readdirSync(occupied.dataDir)).toEqual(['keep']);
  });

  it('restores the series into an external InfluxDB that lacks the database, and refuses one that has it', async () => {
    const rpc = rpcAddressFromConfig(join(influx.dir, 'influxdb.conf'))!;
    const external = (name: string, db: string) =>
      loadConfig({
        env: {
          VITALGATE_DATA_DIR: join(scratch, name),
          VITALGATE_INFLUX_URL: influx.url,
          VITALGATE_INFLUX_DB: db,
          VITALGATE_INFLUX_BACKUP_ADDRESS: rpc,
        },
      });
    const config = external('external-restore', 'restored_copy');
    await restoreBackup({
      from: backup,
      config,
      keySource: master,
      masterKey: pki.masterKey.key,
      actor: 't',
    });
    const series = await new InfluxClient({ url: influx.url, database: 'restored_copy' }).query(
      'SELECT count(c) FROM telemetry',
    );
    expect(series[0]?.rows[0]?.count).toBe(50);
    // The hub's own database exists there: refused, and no data dir appears.
    const taken = external('external-taken', pki.config.influxDb);
    await expect(
      restoreBackup({
        from: backup,
        config: taken,
        keySource: master,
        masterKey: pki.masterKey.key,
        actor: 't',
      }),
    ).rejects.toMatchObject({ code: 'RESTORE_TARGET_NOT_EMPTY' });
    expect(existsSync(taken.dataDir)).toBe(false);
  }, 60_000);

  it('with a separate backup key file, needs that key', async () => {
    const keyFile = join(scratch, 'backup.key');
    writeFileSync(keyFile, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    const config = { ...pki.config, backupKeyFile: keyFile };
    const source = backupKeySource(config, pki.masterKey.key);
    expect(source.kind).toBe('key-file');
    const dir = join(scratch, 'with-key-file');
    await takeBackup({ config, db: pki.store.db, keySource: source, dir });
    await expect(verifyBackup(dir, source)).resolves.toBeTruthy();
    await expect(verifyBackup(dir, master)).rejects.toMatchObject({ code: 'BACKUP_KEY_MISMATCH' });
    // The backup key opens it, but the hub it rebuilds needs its own master key.
    const wrong = targetConfig('wrong-master-key');
    await expect(
      restoreBackup({
        from: dir,
        config: wrong,
        keySource: source,
        masterKey: Buffer.alloc(32, 1),
        actor: 't',
      }),
    ).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    expect(existsSync(wrong.dataDir)).toBe(false);
  }, 30_000);
});

describe('scheduled backups', () => {
  it('audits each run, keeps the newest VITALGATE_BACKUP_RETENTION, and raises an event when one fails', async () => {
    const root = join(scratch, 'scheduled');
    const config = { ...pki.config, backupDir: root, backupRetention: 2 };
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const schedule = new BackupSchedule({
      config,
      store: pki.store,
      masterKey: pki.masterKey.key,
      now: () => clock,
    });
    for (let i = 0; i < 3; i++) {
      clock += 3_600_000;
      expect((await schedule.runOnce()).ok).toBe(true);
    }
    expect(readdirSync(root).sort()).toEqual(['vitalgate-20260101T020000Z', 'vitalgate-20260101T030000Z']);
    expect(latestBackup(root)).toBe(join(root, 'vitalgate-20260101T030000Z'));
    const runs = pki.store.audit.list({ action: 'backup.create' });
    expect(runs.filter((e) => e.outcome === 'success').length).toBeGreaterThanOrEqual(3);

    const broken = { ...config, backupDir: join(scratch, 'not-a-dir') };
    writeFileSync(broken.backupDir, 'a file where the backups should go');
    const failing = new BackupSchedule({ config: broken, store: pki.store, masterKey: pki.masterKey.key });
    const run = await failing.runOnce();
    expect(run.ok).toBe(false);
    expect(pki.store.audit.list({ action: 'backup.create', outcome: 'failure' }).length).toBe(1);
    expect(pki.store.securityEvents.list({ kind: 'backup_failed' })).toHaveLength(1);
    expect(statSync(broken.backupDir).isFile()).toBe(true);
  }, 60_000);
});

describe('the restore drill and VG-DATA-009', () => {
  const drill = () =>
    runDrill({
      from: backup,
      config: pki.config,
      store: pki.store,
      keySource: master,
      masterKey: pki.masterKey.key,
      actor: 'test',
    });

  it('fails without a drill, passes after one, and fails again once the drill is too old', async () => {
    expect((await restoreDrillPassed.run(checkContext(pki))).status).toBe('fail');
    const report = await drill();
    expect(report.comparisons.filter((c) => !c.ok)).toEqual([]);
    expect(report.passed).toBe(true);
    expect((await restoreDrillPassed.run(checkContext(pki))).status).toBe('pass');
    const later = Date.now() + (pki.config.backupDrillDays + 1) * 86_400_000;
    expect((await restoreDrillPassed.run(checkContext(pki, { now: later }))).status).toBe('fail');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('vg-drill-'))).toEqual([]);
  }, 60_000);

  it('fails when the backup does not match the live hub, and says which comparison', async () => {
    const { manifest } = readManifest(backup, master);
    // The live hub's chain no longer holds the backup's newest entry as it was.
    const file = join(pki.dataDir, 'control-plane.sqlite');
    const db = new Database(file);
    db.prepare('UPDATE audit_log SET hash = ? WHERE seq = ?').run(
      'f'.repeat(64),
      manifest.counts.auditHead!.id,
    );
    db.close();
    const report = await drill();
    expect(report.passed).toBe(false);
    expect(report.comparisons.find((c) => !c.ok)?.what).toBe('audit chain');
    expect(pki.store.securityEvents.list({ kind: 'backup_drill_failed' })).toHaveLength(1);
  }, 60_000);
});
