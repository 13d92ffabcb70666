// Per-model security evaluation records (OWASP SMDDS purchasing controls): when the model was
// evaluated, whether the vendor's MDS2 form is on file, its end of support, and the lowest
// approved firmware.
import type { Db } from './database.js';

export interface DeviceModelRecord {
  model: string;
  evaluatedAt: string | null;
  mds2OnFile: boolean;
  endOfSupport: string | null;
  approvedFirmware: string | null;
}

export class DeviceModelRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  put(record: DeviceModelRecord): void {
    this.db
      .prepare(
        `INSERT INTO device_models (model, evaluated_at, mds2_on_file, end_of_support, approved_firmware, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (model) DO UPDATE SET evaluated_at = excluded.evaluated_at, mds2_on_file = excluded.mds2_on_file,
           end_of_support = excluded.end_of_support, approved_firmware = excluded.approved_firmware, updated_at = excluded.updated_at`,
      )
      .run(
        record.model,
        record.evaluatedAt,
        record.mds2OnFile ? 1 : 0,
        record.endOfSupport,
        record.approvedFirmware,
        this.now(),
      );
  }

  get(model: string): DeviceModelRecord | undefined {
    const row = this.db.prepare('SELECT * FROM device_models WHERE model = ?').get(model) as
      | {
          model: string;
          evaluated_at: string | null;
          mds2_on_file: number;
          end_of_support: string | null;
          approved_firmware: string | null;
        }
      | undefined;
    return (
      row && {
        model: row.model,
        evaluatedAt: row.evaluated_at,
        mds2OnFile: row.mds2_on_file === 1,
        endOfSupport: row.end_of_support,
        approvedFirmware: row.approved_firmware,
      }
    );
  }
}
