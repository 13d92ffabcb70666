// Which gateway relays each Bluetooth device (docs/GATEWAYS.md). A device is bound to at most one
// gateway; each binding has its own id, which names the device's replay window, so a device moved
// to a new phone starts its seq again. The measuring device's identity (IEEE 11073 system id or
// Bluetooth address, and its serial) is pinned on the binding: given by the operator, or taken
// from the first reading accepted through it. The last clock drift seen is kept for the checks.
import type { DeviceKind, DeviceStatus } from '../domain.js';
import type { Db } from './database.js';

export interface GatewayBinding {
  id: number;
  deviceId: string;
  gatewayId: string;
  systemId: string | null;
  serial: string | null;
  boundAt: number;
  boundBy: string;
  /** Device clock minus gateway clock at the last coincident time reference, ms. */
  clockDriftMs: number | null;
  driftAt: number | null;
}

/** A binding with what the broker needs of its device, read in one query. */
export interface BoundDevice extends GatewayBinding {
  kind: DeviceKind;
  patientId: string | null;
  status: DeviceStatus;
}

interface Row {
  id: number;
  device_id: string;
  gateway_id: string;
  system_id: string | null;
  serial: string | null;
  bound_at: number;
  bound_by: string;
  clock_drift_ms: number | null;
  drift_at: number | null;
}

function fromRow(row: Row): GatewayBinding {
  return {
    id: row.id,
    deviceId: row.device_id,
    gatewayId: row.gateway_id,
    systemId: row.system_id,
    serial: row.serial,
    boundAt: row.bound_at,
    boundBy: row.bound_by,
    clockDriftMs: row.clock_drift_ms,
    driftAt: row.drift_at,
  };
}

export interface NewBinding {
  deviceId: string;
  gatewayId: string;
  systemId?: string | null | undefined;
  serial?: string | null | undefined;
  boundBy: string;
}

export class GatewayBindingRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Binds the device (replacing any binding it had, with a new id); returns the new binding. */
  bind(binding: NewBinding): GatewayBinding {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM gateway_bindings WHERE device_id = ?').run(binding.deviceId);
      const row = this.db
        .prepare(
          `INSERT INTO gateway_bindings (device_id, gateway_id, system_id, serial, bound_at, bound_by)
           VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
        )
        .get(
          binding.deviceId,
          binding.gatewayId,
          binding.systemId ?? null,
          binding.serial ?? null,
          this.now(),
          binding.boundBy,
        ) as Row;
      return fromRow(row);
    })();
  }

  /** Removes the device's binding; returns it, or undefined when it had none. */
  unbind(deviceId: string): GatewayBinding | undefined {
    const row = this.db
      .prepare('DELETE FROM gateway_bindings WHERE device_id = ? RETURNING *')
      .get(deviceId) as Row | undefined;
    return row && fromRow(row);
  }

  ofDevice(deviceId: string): GatewayBinding | undefined {
    const row = this.db.prepare('SELECT * FROM gateway_bindings WHERE device_id = ?').get(deviceId) as
      Row | undefined;
    return row && fromRow(row);
  }

  ofGateway(gatewayId: string): GatewayBinding[] {
    return (
      this.db
        .prepare('SELECT * FROM gateway_bindings WHERE gateway_id = ? ORDER BY device_id')
        .all(gatewayId) as Row[]
    ).map(fromRow);
  }

  /** The gateway's bindings with their devices' kind, patient and status (the broker's view). */
  boundDevices(gatewayId: string): BoundDevice[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, d.kind AS kind, d.patient_id AS patient_id, d.status AS status
         FROM gateway_bindings b JOIN devices d ON d.id = b.device_id
         WHERE b.gateway_id = ? ORDER BY b.device_id`,
      )
      .all(gatewayId) as (Row & { kind: DeviceKind; patient_id: string | null; status: DeviceStatus })[];
    return rows.map((r) => ({ ...fromRow(r), kind: r.kind, patientId: r.patient_id, status: r.status }));
  }

  list(): GatewayBinding[] {
    return (
      this.db.prepare('SELECT * FROM gateway_bindings ORDER BY gateway_id, device_id').all() as Row[]
    ).map(fromRow);
  }

  /** Pins the identity the first accepted reading named, where the binding had none (same id only). */
  pin(bindingId: number, systemId: string, serial: string | null): boolean {
    const result = this.db
      .prepare(
        `UPDATE gateway_bindings SET system_id = ?, serial = COALESCE(serial, ?)
         WHERE id = ? AND system_id IS NULL`,
      )
      .run(systemId, serial, bindingId);
    return result.changes > 0;
  }

  recordDrift(bindingId: number, driftMs: number): void {
    this.db
      .prepare('UPDATE gateway_bindings SET clock_drift_ms = ?, drift_at = ? WHERE id = ?')
      .run(Math.round(driftMs), this.now(), bindingId);
  }
}

/** What the intake is told of a reading relayed by a gateway: the binding it came through. */
export interface GatewayVia {
  gatewayId: string;
  bindingId: number;
  /** The pinned identity; the intake pins it (and sets it here) on the first accepted reading. */
  systemId: string | null;
  serial: string | null;
}
