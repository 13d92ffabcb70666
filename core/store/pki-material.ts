// The hub's own keys and certificates (root CA, issuing CA, server, command signer). Private
// keys are stored sealed under the master key; sealing is the caller's (keyring's) job.
import type { Db } from './database.js';

export interface PkiMaterialRecord {
  name: string;
  certificatePem: string;
  sealedKey: Buffer;
  createdAt: number;
}

export class PkiMaterialRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(name: string): PkiMaterialRecord | undefined {
    const row = this.db.prepare('SELECT * FROM pki_material WHERE name = ?').get(name) as
      { name: string; certificate_pem: string; sealed_key: Buffer; created_at: number } | undefined;
    return (
      row && {
        name: row.name,
        certificatePem: row.certificate_pem,
        sealedKey: row.sealed_key,
        createdAt: row.created_at,
      }
    );
  }

  put(name: string, certificatePem: string, sealedKey: Buffer): void {
    this.db
      .prepare(
        `INSERT INTO pki_material (name, certificate_pem, sealed_key, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET certificate_pem = excluded.certificate_pem, sealed_key = excluded.sealed_key, created_at = excluded.created_at`,
      )
      .run(name, certificatePem, sealedKey, this.now());
  }

  list(): PkiMaterialRecord[] {
    return (this.db.prepare('SELECT name FROM pki_material ORDER BY name').all() as { name: string }[]).map(
      (r) => this.get(r.name)!,
    );
  }
}
