// `vitalgate backup verify`: checks a whole-hub backup without restoring it. The manifest's MAC,
// every part's presence, size and SHA-256, every part's AES-GCM tag, no part the manifest does not
// name, and the control plane itself (decrypted into a private temp dir, then removed): integrity,
// audit chain, and the counts the manifest recorded. The first failure names its part.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VitalGateError } from '../../core/errors.js';
import { inspectControlPlane, type ControlPlaneFacts } from './control-plane-copy.js';
import { PARTS_DIR, partPath, readManifest, type BackupManifest } from './manifest.js';
import { fileSha256, openSealedFile, partInvalid, type BackupKeys, type KeySource } from './sealed-part.js';

export interface VerifiedBackup {
  manifest: BackupManifest;
  keys: BackupKeys;
  /** Plaintext bytes of all parts. */
  bytes: number;
}

export async function verifyBackup(
  dir: string,
  source: KeySource,
  onProgress?: (done: number, total: number) => void,
): Promise<VerifiedBackup> {
  const { manifest, keys } = readManifest(dir, source);
  const named = new Set(manifest.parts.map((p) => `${p.name}.vgb`));
  for (const file of listParts(join(dir, PARTS_DIR))) {
    if (!named.has(file))
      throw new VitalGateError('BACKUP_PART_UNEXPECTED', `backup part ${file}: not named in the manifest`, {
        part: file,
      });
  }
  let bytes = 0;
  for (const [i, part] of manifest.parts.entries()) {
    const file = partPath(dir, part.name);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new VitalGateError('BACKUP_INCOMPLETE', `backup part ${part.name}: missing`, { part: part.name });
    }
    if (size !== part.sealedBytes)
      throw partInvalid(part.name, `${size} bytes where the manifest says ${part.sealedBytes}`);
    if ((await fileSha256(file)) !== part.sha256)
      throw partInvalid(part.name, 'its SHA-256 does not match the manifest');
    bytes += await openSealedFile(keys, manifest.backupId, part.name, file);
    onProgress?.(i + 1, manifest.parts.length);
  }
  const temp = mkdtempSync(join(tmpdir(), 'vg-backup-verify-'));
  try {
    const file = join(temp, 'control-plane.sqlite');
    await openSealedFile(
      keys,
      manifest.backupId,
      'control-plane.sqlite',
      partPath(dir, 'control-plane.sqlite'),
      file,
    );
    compareFacts(inspectControlPlane(file), manifest);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return { manifest, keys, bytes };
}

/** The restored or decrypted control plane holds what the manifest says it does. */
export function compareFacts(facts: ControlPlaneFacts, manifest: BackupManifest): void {
  const c = manifest.counts;
  const mismatch = (
    [
      ['audit entries', facts.auditEntries, c.auditEntries],
      ['audit head', JSON.stringify(facts.auditHead), JSON.stringify(c.auditHead)],
      ['devices', facts.devices, c.devices],
      ['certificates', facts.certificates, c.certificates],
      ['patients', facts.patients, c.patients],
      ['destroyed data keys', facts.dataKeysDestroyed, c.dataKeysDestroyed],
      ['CA certificates', facts.caFingerprints.join(','), c.caFingerprints.join(',')],
      ['master key check', facts.masterKeyCheck, manifest.masterKeyCheck],
    ] as const
  ).find(([, got, want]) => got !== want);
  if (mismatch)
    throw new VitalGateError(
      'BACKUP_VERIFY_FAILED',
      `backup part control-plane.sqlite: ${mismatch[0]} differ from the manifest`,
      { part: 'control-plane.sqlite' },
    );
}

function listParts(root: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? listParts(root, `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
