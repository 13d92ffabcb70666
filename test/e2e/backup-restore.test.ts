// Back up a hub while 20 devices publish, restore the backup onto a fresh data dir, start the
// restored hub on other ports, and find every reading acknowledged before the backup (each once,
// some of them replayed from the backed-up spool), the audit chain verifying, the devices
// reconnecting with their certificates and a revoked device still refused. A backup with one byte
// changed is refused by `restore` and `backup verify`, and nothing is written.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { latestBackup } from '../../hub/backup/drill.js';
import { connectDevice } from '../support/broker.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { addPatient } from '../support/ingest.js';

const DEVICES = 20;
const ACKED_BEFORE_BACKUP = 300;
let pki: TestPki;
let scratch: string;
const hubs: HubProcess[] = [];
const devices: DeviceCredentials[] = [];
let revoked: DeviceCredentials;

beforeAll(async () => {
  pki = await createTestPki();
  scratch = mkdtempSync(join(tmpdir(), 'vg-backup-e2e-'));
  const patientId = addPatient(pki);
  for (let i = 0; i < DEVICES; i++)
    devices.push(await pki.issueDevice(`wear-${i}`, 'wearable', { patientId }));
  revoked = await pki.issueDevice('lost-1', 'wearable', { patientId });
}, 120_000);

afterAll(async () => {
  for (const hub of hubs) await hub.stop();
  pki?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function message(seq: number, t0: number): string {
  const ts = t0 + seq * 1000;
  return JSON.stringify({
    v: 1,
    seq,
    ts,
    readings: [
      { type: 'heart_rate', value: 60 + (seq % 40), unit: '/min' },
      { type: 'steps', value: seq, unit: '{steps}' },
      { type: 'spo2', value: 97, unit: '%' },
    ],
  });
}

interface DeviceRun {
  client?: MqttClient;
  sent: number;
  acked: number;
}

describe('a whole-hub backup taken while devices publish', () => {
  it('restores onto a fresh data dir with every acknowledged reading, the audit chain and the PKI', async () => {
    // The 20 devices all connect from 127.0.0.1 at once; in the field they come from 20 addresses.
    const sameSource = { VITALGATE_PENDING_HANDSHAKES_PER_SOURCE: String(DEVICES + 4) };
    // They publish back to back for as long as the backup takes: far above the default per-device
    // rate, which would end their sessions as floods and leave a publish unanswered.
    const backToBack = { VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000' };
    const env = { VITALGATE_DATA_DIR: pki.dataDir };
    expect((await runCli(['device', 'revoke', 'lost-1', '--reason', 'reported lost'], env)).code).toBe(0);
    // Large, slow batches: the readings of the last few hundred messages wait in the spool, so
    // the backup holds some only there.
    const hub = await startHubProcess({
      ...env,
      ...sameSource,
      ...backToBack,
      VITALGATE_WRITER_BATCH_SIZE: '700',
      VITALGATE_WRITER_FLUSH_MS: '60000',
    });
    hubs.push(hub);
    const t0 = Date.now() - 3_600_000;
    const runs: DeviceRun[] = devices.map(() => ({ sent: 0, acked: 0 }));
    let stop = false;
    let enough: () => void = () => {};
    const enoughAcked = new Promise<void>((resolve) => (enough = resolve));
    const total = () => runs.reduce((n, r) => n + r.acked, 0);
    const publishing = Promise.all(
      devices.map(async (dev, i) => {
        const run = runs[i]!;
        run.client = await connectDevice(hub.ready.mqttPort, dev, dev.deviceId);
        while (!stop) {
          const seq = run.sent + 1;
          run.sent = seq;
          await run.client.publishAsync(`devices/${dev.deviceId}/telemetry`, message(seq, t0), { qos: 1 });
          run.acked = seq;
          if (total() >= ACKED_BEFORE_BACKUP) enough();
        }
        await run.client.endAsync();
      }),
    );
    await enoughAcked;
    const ackedBefore = runs.map((r) => r.acked);
    const backupDir = join(scratch, 'backup');
    const taken = await runCli(['backup', '--to', backupDir, '--json'], env);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    const summary = JSON.parse(taken.stdout) as { counts: { spoolRecords: number } };
    expect(summary.counts.spoolRecords).toBeGreaterThan(0);
    stop = true;
    await publishing;
    const sent = runs.map((r) => r.sent);
    // The drill restores it into a temp dir and compares it with the hub that goes on running.
    const drill = await runCli(['backup', 'drill', '--from', backupDir], env);
    expect(drill.stdout).toContain('drill passed');
    expect(drill.code).toBe(0);
    await hub.stop();

    expect((await runCli(['backup', 'verify', backupDir], env)).code).toBe(0);

    // One byte changed: refused by verify and by restore, naming the part; nothing is written.
    const tampered = join(scratch, 'tampered');
    cpSync(backupDir, tampered, { recursive: true });
    const part = join(tampered, 'parts', 'control-plane.sqlite.vgb');
    const bytes = readFileSync(part);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0x80;
    writeFileSync(part, bytes);
    const masterKey = join(pki.dataDir, 'master.key');
    const refusedDir = join(scratch, 'refused');
    const refused = await runCli(['restore', '--from', tampered, '--master-key', masterKey], {
      VITALGATE_DATA_DIR: refusedDir,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/backup part control-plane\.sqlite/);
    expect(existsSync(refusedDir)).toBe(false);
    expect(readdirSync(scratch).sort()).toEqual(['backup', 'tampered']);
    const verifyTampered = await runCli(['backup', 'verify', tampered], env);
    expect(verifyTampered.code).toBe(1);
    expect(verifyTampered.stderr).toMatch(/control-plane\.sqlite/);

    // Restore onto a fresh data dir and start it on other ports.
    const restoredDir = join(scratch, 'restored');
    const restored = await runCli(['restore', '--from', backupDir, '--master-key', masterKey], {
      VITALGATE_DATA_DIR: restoredDir,
    });
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    const renv = { VITALGATE_DATA_DIR: restoredDir };
    // The restored hub also takes scheduled backups (every 3.6 s here).
    const scheduled = join(scratch, 'scheduled');
    const second = await startHubProcess({
      ...renv,
      ...sameSource,
      VITALGATE_BACKUP_DIR: scheduled,
      VITALGATE_BACKUP_INTERVAL_HOURS: '0.001',
    });
    hubs.push(second);
    expect(second.ready.mqttPort).not.toBe(hub.ready.mqttPort);

    // Every reading acknowledged before the backup is there, once (the steps reading names its seq
    // by its time), including those replayed from the spool.
    const influx = new InfluxClient({ url: second.ready.influxUrl, database: 'vitalgate' });
    const missing = async () => {
      const series = await influx.query("SELECT c FROM telemetry WHERE t = 'steps' GROUP BY d");
      let gaps = 0;
      for (const [i, dev] of devices.entries()) {
        const rows = series.find((s) => s.tags.d === dev.deviceId)?.rows ?? [];
        const seqs = new Set(rows.map((r) => (Number(r.time) - t0) / 1000));
        for (let seq = 1; seq <= ackedBefore[i]!; seq++) if (!seqs.has(seq)) gaps++;
        expect(rows.length).toBeLessThanOrEqual(sent[i]!);
      }
      return gaps;
    };
    let gaps = await missing();
    for (let i = 0; i < 150 && gaps > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      gaps = await missing();
    }
    expect(gaps).toBe(0);

    const audit = await runCli(['audit', 'verify'], renv);
    expect(audit.code).toBe(0);

    // The devices reconnect with their certificates and go on where they were.
    await Promise.all(
      devices.map(async (dev, i) => {
        const client = await connectDevice(second.ready.mqttPort, dev, dev.deviceId);
        await client.publishAsync(`devices/${dev.deviceId}/telemetry`, message(sent[i]! + 1, t0), { qos: 1 });
        await client.endAsync();
      }),
    );
    // The revoked device is still refused, and nothing of it is stored.
    await expect(connectDevice(second.ready.mqttPort, revoked, revoked.deviceId)).rejects.toBeTruthy();
    const lost = await influx.query("SELECT count(c) FROM telemetry WHERE d = 'lost-1'");
    expect(lost).toEqual([]);

    // A scheduled backup of the restored hub appears and verifies.
    let latest: string | undefined;
    for (let i = 0; i < 300 && !latest; i++) {
      try {
        latest = latestBackup(scheduled);
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(latest).toBeDefined();
    expect((await runCli(['backup', 'verify', latest!], renv)).code).toBe(0);
  }, 240_000);
});
