// The control plane in a whole-hub backup: SQLite's online backup (consistent while the hub writes),
// then VACUUM of the copy so that no free page still holds a data key destroyed before the backup
// (crypto-shredded patients stay shredded in every backup taken after their erasure), then the
// checks a restore relies on: integrity, the audit hash chain, and what the manifest records.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { AuditLog } from '../../core/audit.js';
import { VitalGateError } from '../../core/errors.js';
import type { Db } from '../../core/store/database.js';

export interface ControlPlaneFacts {
  auditEntries: number;
  auditHead: { id: number; hash: string } | null;
  devices: number;
  certificates: number;
  patients: number;
  dataKeysDestroyed: number;
  caFingerprints: string[];
  masterKeyCheck: string;
}

/**
 * Online backup of `live` into `file`, compacted; returns what it holds. The compaction and the
 * checks read and write the whole copy (about 3 s for 100 MB here), so they run on a worker
 * thread: a scheduled backup inside the running hub does not stall the broker.
 */
export async function copyControlPlane(
  live: Db,
  file: string,
  onProgress?: (done: number, total: number) => void,
): Promise<ControlPlaneFacts> {
  await live.backup(file, {
    progress: ({ totalPages, remainingPages }) => {
      onProgress?.(totalPages - remainingPages, totalPages);
      return 200;
    },
  });
  return inWorker(file);
}

/** VACUUM (no free page keeps a deleted value), then inspectControlPlane. */
export function compactAndInspect(file: string): ControlPlaneFacts {
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    copy.exec('VACUUM');
  } finally {
    copy.close();
  }
  return inspectControlPlane(file);
}

/** compactAndInspect on a worker thread (sources run through tsx in a checkout, as bin/ does). */
function inWorker(file: string): Promise<ControlPlaneFacts> {
  const fromSources = import.meta.url.endsWith('.ts');
  const script = new URL(`./control-plane-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  const worker = fromSources
    ? new Worker(
        `import(${JSON.stringify(tsxApi())})` +
          `.then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); })`,
        { eval: true, workerData: { file } },
      )
    : new Worker(script, { workerData: { file } });
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: WorkerReply) => {
      if (reply.ok) resolve(reply.facts);
      else reject(new VitalGateError(reply.code, reply.message, reply.details));
    });
    worker.once('error', reject);
    // After a reply this rejects nothing; without one, the worker died.
    worker.once('exit', (code) =>
      reject(new VitalGateError('BACKUP_VERIFY_FAILED', `the control-plane check stopped (exit ${code})`)),
    );
  });
}

/** The ESM entry of tsx's register API, as its package.json exports it. */
function tsxApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(manifest, 'utf8')) as TsxManifest).exports['./esm/api'].import
    .default;
  return pathToFileURL(join(dirname(manifest), exported)).href;
}

interface TsxManifest {
  exports: Record<'./esm/api', { import: { default: string } }>;
}

export type WorkerReply =
  | { ok: true; facts: ControlPlaneFacts }
  | { ok: false; code: string; message: string; details?: Record<string, unknown> };

/** Integrity, audit chain and the facts of a control-plane file; BACKUP_VERIFY_FAILED if unsound. */
export function inspectControlPlane(file: string): ControlPlaneFacts {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
    if (integrity !== 'ok')
      throw new VitalGateError(
        'BACKUP_VERIFY_FAILED',
        `backup part control-plane.sqlite: integrity check: ${integrity}`,
        {
          part: 'control-plane.sqlite',
        },
      );
    const chain = new AuditLog(db).verify();
    if (!chain.ok)
      throw new VitalGateError(
        'BACKUP_VERIFY_FAILED',
        `backup part control-plane.sqlite: the audit chain breaks at entry ${chain.firstBad?.seq} (${chain.firstBad?.problem})`,
        { part: 'control-plane.sqlite' },
      );
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const head = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; hash: string } | undefined;
    const cas = db
      .prepare(
        "SELECT certificate_pem AS pem FROM pki_material WHERE name IN ('root', 'issuing') ORDER BY name",
      )
      .all() as { pem: string }[];
    const check = db.prepare("SELECT value FROM meta WHERE key = 'master_key_check'").get() as
      { value: string } | undefined;
    return {
      auditEntries: chain.checked,
      auditHead: head ? { id: head.seq, hash: head.hash } : null,
      devices: count('SELECT count(*) AS n FROM devices'),
      certificates: count('SELECT count(*) AS n FROM certificates'),
      patients: count('SELECT count(*) AS n FROM patients'),
      dataKeysDestroyed: count(
        'SELECT count(DISTINCT subject) AS n FROM data_keys WHERE destroyed_at IS NOT NULL',
      ),
      caFingerprints: cas.map((c) => createHash('sha256').update(c.pem).digest('hex')),
      masterKeyCheck: check?.value ?? '',
    };
  } finally {
    db.close();
  }
}
