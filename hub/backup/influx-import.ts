// When a restored InfluxDB holds its series. `influxd restore -portable` (1.6) returns once it has
// sent the shards; the server imports each one after that, on its own, with the shard disabled
// meanwhile. Stopping influxd before the imports end loses them (seen here about once in eight
// restores). So the restore waits until: no query meets a disabled shard, every measurement holds
// at least the points the backup counted in its window (a lower bound of what the backup holds),
// and, when the data dir can be read, as many shards hold TSM files as the backup had shards with
// data, with no import's temporary file left.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VitalGateError, describeError } from '../../core/errors.js';
import type { InfluxClient } from '../../core/influx.js';
import { countPoints } from './influx-parts.js';

/** An empty shard's tar is its two end blocks. */
const EMPTY_TAR_BYTES = 1024;
const POLL_MS = 100;

/** Shards with data in a portable backup, from its `*.manifest` files. */
export function shardsWithData(backupDir: string): number {
  let shards = 0;
  for (const name of readdirSync(backupDir).filter((n) => n.endsWith('.manifest'))) {
    const manifest = JSON.parse(readFileSync(join(backupDir, name), 'utf8')) as {
      files?: { size?: number }[];
    };
    shards += (manifest.files ?? []).filter((f) => (f.size ?? 0) > EMPTY_TAR_BYTES).length;
  }
  return shards;
}

/** Shards under `<influx data dir>/<db>` holding TSM files, and whether an import's temp file is left. */
function shardFiles(databaseDir: string): { shards: number; importing: boolean } {
  let shards = 0;
  let importing = false;
  if (!existsSync(databaseDir)) return { shards, importing };
  for (const policy of readdirSync(databaseDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const policyDir = join(databaseDir, policy.name);
    for (const shard of readdirSync(policyDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const files = readdirSync(join(policyDir, shard.name));
      if (files.some((f) => f.endsWith('.tsm'))) shards += 1;
      if (files.some((f) => f.endsWith('.tmp'))) importing = true;
    }
  }
  return { shards, importing };
}

export interface ImportExpectation {
  client: InfluxClient;
  /** The portable backup that was restored (its `*.manifest` files). */
  backupDir: string;
  /** `<influxd data dir>/<database>`, when the restored InfluxDB is ours to look into. */
  databaseDir?: string;
  window: { from: string; to: string; points: Record<string, number> };
  timeoutMs?: number;
}

export async function awaitImport(expect: ImportExpectation): Promise<void> {
  const shards = shardsWithData(expect.backupDir);
  const deadline = Date.now() + (expect.timeoutMs ?? 120_000);
  let waitingFor = 'the first answer';
  while (Date.now() < deadline) {
    try {
      const points = await countPoints(
        expect.client,
        new Date(expect.window.from),
        new Date(expect.window.to),
      );
      const short = Object.entries(expect.window.points).find(([m, n]) => (points[m] ?? 0) < n);
      const files = expect.databaseDir ? shardFiles(expect.databaseDir) : undefined;
      if (short) waitingFor = `${short[0]} points`;
      else if (files && (files.importing || files.shards < shards)) waitingFor = 'shard files';
      else return;
    } catch (err) {
      // "shard is disabled" while a shard is being imported.
      waitingFor = describeError(err).slice(0, 120);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new VitalGateError(
    'INFLUX_RESTORE_FAILED',
    `the restored InfluxDB did not finish importing the backup's series (waiting for ${waitingFor})`,
    { part: 'influxdb' },
  );
}
