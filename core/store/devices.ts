// Devices in the control plane: identity, kind, patient binding and lifecycle status.
import type { DeviceKind, DeviceStatus } from '../domain.js';
import { VitalGateError } from '../errors.js';
import type { Db } from './database.js';

export interface Device {
  id: string;
  kind: DeviceKind;
  model: string | null;
  patientId: string | null;
  status: DeviceStatus;
  statusReason: string | null;
  allowedNetworks: string[];
  currentSerial: string | null;
  firmware: string | null;
  createdAt: number;
  updatedAt: number;
}

interface DeviceRow {
  id: string;
  kind: DeviceKind;
  model: string | null;
  patient_id: string | null;
  status: DeviceStatus;
  status_reason: string | null;
  allowed_networks: string;
  current_serial: string | null;
  firmware: string | null;
  created_at: number;
  updated_at: number;
}

function fromRow(row: DeviceRow): Device {
  return {
    id: row.id,
    kind: row.kind,
    model: row.model,
    patientId: row.patient_id,
    status: row.status,
    statusReason: row.status_reason,
    allowedNetworks: JSON.parse(row.allowed_networks) as string[],
    currentSerial: row.current_serial,
    firmware: row.firmware,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewDevice {
  id: string;
  kind: DeviceKind;
  model?: string | null | undefined;
  patientId?: string | null | undefined;
  allowedNetworks?: string[] | undefined;
}

export class DeviceRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(device: NewDevice): Device {
    const t = this.now();
    try {
      this.db
        .prepare(
          `INSERT INTO devices (id, kind, model, patient_id, status, allowed_networks, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
        )
        .run(
          device.id,
          device.kind,
          device.model ?? null,
          device.patientId ?? null,
          JSON.stringify(device.allowedNetworks ?? []),
          t,
          t,
        );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VitalGateError('DEVICE_EXISTS', `device ${device.id} already exists`);
      }
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
      }
      throw err;
    }
    return this.get(device.id)!;
  }

  get(id: string): Device | undefined {
    const row = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
    return row && fromRow(row);
  }

  require(id: string): Device {
    const device = this.get(id);
    if (!device) throw new VitalGateError('DEVICE_NOT_FOUND', `no device ${id}`);
    return device;
  }

  list(filter: { status?: DeviceStatus; patientId?: string } = {}): Device[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.patientId) {
      where.push('patient_id = ?');
      params.push(filter.patientId);
    }
    const sql = `SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...params) as DeviceRow[]).map(fromRow);
  }

  setStatus(id: string, status: DeviceStatus, reason: string | null): void {
    this.db
      .prepare('UPDATE devices SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?')
      .run(status, reason, this.now(), id);
  }

  setCurrentSerial(id: string, serial: string | null): void {
    this.db
      .prepare('UPDATE devices SET current_serial = ?, updated_at = ? WHERE id = ?')
      .run(serial, this.now(), id);
  }

  bindPatient(id: string, patientId: string | null): void {
    try {
      this.db
        .prepare('UPDATE devices SET patient_id = ?, updated_at = ? WHERE id = ?')
        .run(patientId, this.now(), id);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
      }
      throw err;
    }
  }

  setAllowedNetworks(id: string, cidrs: string[]): void {
    this.db
      .prepare('UPDATE devices SET allowed_networks = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(cidrs), this.now(), id);
  }

  setFirmware(id: string, firmware: string): void {
    this.db
      .prepare('UPDATE devices SET firmware = ?, updated_at = ? WHERE id = ?')
      .run(firmware, this.now(), id);
  }
}
