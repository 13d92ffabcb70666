// The manifest of a whole-hub backup (`manifest.json`): what the backup holds, the SHA-256 of every
// sealed part, what was counted at backup time, and an HMAC over all of it under the backup key,
// so a changed hash, count or part list is found as surely as a changed part. It holds no secret:
// the key's salt and id only name which key opens the backup.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import {
  backupKeyId,
  deriveBackupKeys,
  macMatches,
  manifestMac,
  type BackupKeys,
  type KeySource,
} from './sealed-part.js';

export const MANIFEST_FILE = 'manifest.json';
export const PARTS_DIR = 'parts';
export const BACKUP_FORMAT = 'vitalgate-backup/1';

const PART_NAME = /^(control-plane\.sqlite|influxdb\/[A-Za-z0-9._-]+|spool\/[A-Za-z0-9._-]+)$/;

const partSchema = z.object({
  name: z.string().regex(PART_NAME),
  kind: z.enum(['control-plane', 'influxdb', 'spool']),
  bytes: z.number().int().min(0),
  sealedBytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const countsSchema = z.object({
  auditEntries: z.number().int().min(0),
  /** Hash of the newest audit entry in the backup: the live chain must hold it at that id. */
  auditHead: z.object({ id: z.number().int(), hash: z.string() }).nullable(),
  devices: z.number().int().min(0),
  certificates: z.number().int().min(0),
  patients: z.number().int().min(0),
  dataKeysDestroyed: z.number().int().min(0),
  /** Spool records acknowledged but not yet in InfluxDB when the spool was copied. */
  spoolRecords: z.number().int().min(0),
  /** Points per measurement with time in [from, to] counted just before InfluxDB was backed up. */
  telemetry: z.object({
    from: z.string(),
    to: z.string(),
    points: z.record(z.string(), z.number().int().min(0)),
  }),
  /** SHA-256 of the CA certificates (root, issuing), as the restored hub must present them. */
  caFingerprints: z.array(z.string()),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  backupId: z.string().regex(/^[0-9a-f-]{36}$/),
  startedAt: z.string(),
  completedAt: z.string(),
  influxDb: z.string(),
  masterKeyCheck: z.string(),
  masterKeyIncluded: z.literal(false),
  key: z.object({
    source: z.enum(['master-key', 'key-file']),
    salt: z.string(),
    id: z.string(),
  }),
  parts: z.array(partSchema).min(1),
  counts: countsSchema,
  mac: z.string(),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupPart = BackupManifest['parts'][number];
export type BackupCounts = BackupManifest['counts'];
export type UnsignedManifest = Omit<BackupManifest, 'mac'>;

function canonical(manifest: UnsignedManifest): string {
  return JSON.stringify(manifest, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : value,
  );
}

export function partPath(dir: string, part: string): string {
  return join(dir, PARTS_DIR, `${part}.vgb`);
}

export function writeManifest(dir: string, unsigned: UnsignedManifest, keys: BackupKeys): BackupManifest {
  const manifest: BackupManifest = { ...unsigned, mac: manifestMac(keys, canonical(unsigned)) };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return manifest;
}

/**
 * Reads and authenticates the manifest of the backup in `dir` with `source`. Throws
 * BACKUP_INCOMPLETE (no manifest: the backup never finished), BACKUP_MANIFEST_INVALID (not a
 * manifest, or changed) or BACKUP_KEY_MISMATCH (made with another key).
 */
export function readManifest(dir: string, source: KeySource): { manifest: BackupManifest; keys: BackupKeys } {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file))
    throw new VitalGateError('BACKUP_INCOMPLETE', `${dir} holds no ${MANIFEST_FILE}: not a finished backup`, {
      part: MANIFEST_FILE,
    });
  let parsed: ReturnType<typeof manifestSchema.safeParse>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    throw manifestInvalid('it is not JSON');
  }
  if (!parsed.success)
    throw manifestInvalid(`${parsed.error.issues[0]?.path.join('.') || 'it'} is not valid`);
  const manifest = parsed.data;
  const id = backupKeyId(source);
  if (manifest.key.id !== id || manifest.key.source !== source.kind) {
    throw new VitalGateError(
      'BACKUP_KEY_MISMATCH',
      `the backup was sealed with another key (${manifest.key.source} ${manifest.key.id}; this one is ${source.kind} ${id})`,
      { part: MANIFEST_FILE },
    );
  }
  const keys = deriveBackupKeys(source, Buffer.from(manifest.key.salt, 'base64'));
  const { mac, ...unsigned } = manifest;
  if (!macMatches(mac, manifestMac(keys, canonical(unsigned))))
    throw manifestInvalid('its MAC does not verify');
  const names = new Set(manifest.parts.map((p) => p.name));
  if (names.size !== manifest.parts.length) throw manifestInvalid('it names a part twice');
  if (!names.has('control-plane.sqlite')) throw manifestInvalid('it has no control-plane part');
  return { manifest, keys };
}

function manifestInvalid(why: string): VitalGateError {
  return new VitalGateError('BACKUP_MANIFEST_INVALID', `backup part ${MANIFEST_FILE}: ${why}`, {
    part: MANIFEST_FILE,
  });
}
