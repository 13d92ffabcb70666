// Validation of a reading a gateway relays (`gateways/{gw}/devices/{dev}/telemetry`, docs/
// GATEWAYS.md). The broker has already checked that the device is bound to this gateway; here:
//
//   the stages of a direct device's envelope up to the readings' count (size, UTF-8, JSON)
//   SCHEMA_INVALID             the relayed shell (device identity, modality, receivedAt, clock)
//   DEVICE_IDENTITY_MISMATCH   the system id (or Bluetooth address) or serial the gateway names is
//                              not the one pinned on the binding
//   then every reading stage of validateReadings, on timestamps corrected to the gateway's clock.
//
// Clock correction (the coincident time reference of IEEE 11073-20601 and the PHD IG): a device
// with a clock is read by the gateway at one instant, `clock.device` on its own clock and
// `clock.gateway` on the gateway's; every reading's own `ts` (device clock) is moved by the
// difference. A reading without a `ts` was taken when the gateway received it (`receivedAt`).
// Manual entries carry times the person or the app gave, on the gateway's clock: not moved.
// The corrected time is exact to the millisecond as far as both clocks were read at one instant,
// and the gateway's own clock is held to the hub's by the same skew limit as a device's.
import { mdcCodeFor } from '../core/nomenclature.js';
import type { GatewayVia } from '../core/store/gateway-bindings.js';
import { z } from 'zod';
import { relayedEnvelopeShell, type ReadingSource, type TelemetryEnvelope } from './schemas.js';
import {
  parseEnvelopeJson,
  schemaRefusal,
  validateReadings,
  type Refusal,
  type ValidationContext,
} from './validation.js';

// Compiled once, as the direct envelope's shell is (validation.ts): several times the interpreted parse.
const SHELL = z.compile(relayedEnvelopeShell);

export type RelayedRefusal = Refusal | { ok: false; reason: 'DEVICE_IDENTITY_MISMATCH'; detail: string };

export interface RelayedReading {
  ok: true;
  envelope: TelemetryEnvelope;
  /** The identity the reading names (upper case), to pin on a binding that has none yet. */
  identity: { systemId: string; serial: string | null };
  /** Device clock minus gateway clock, ms, when the envelope carried a time reference. */
  driftMs: number | undefined;
}

export function validateRelayed(
  payload: Buffer,
  ctx: ValidationContext,
  via: Pick<GatewayVia, 'gatewayId' | 'systemId' | 'serial'>,
): RelayedReading | RelayedRefusal {
  const parsed = parseEnvelopeJson(payload, ctx);
  if (!parsed.ok) return parsed;
  const shell = SHELL.safeParse(parsed.json);
  if (!shell.success) return schemaRefusal(shell.error.issues);
  const { seq, ts, device, modality, receivedAt, clock, readings: raw } = shell.data;

  const systemId = (device.systemId ?? device.address!).toUpperCase();
  const serial = device.serial ?? null;
  if (via.systemId !== null && via.systemId !== systemId)
    return mismatch('device.systemId: not the identity pinned on the binding');
  if (via.serial !== null && via.serial !== serial)
    return mismatch('device.serial: not the serial pinned on the binding');

  const offset = clock && modality === 'sensed' ? clock.gateway - clock.device : 0;
  const deviceTimes: (number | undefined)[] = new Array<number | undefined>(raw.length);
  // The readings are this parse's own objects: their times are corrected in place.
  for (let i = 0; i < raw.length; i++) {
    const reading = raw[i] as { ts?: unknown } | null;
    if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) continue;
    const own = reading.ts;
    if (own === undefined) reading.ts = receivedAt;
    else if (typeof own === 'number') {
      deviceTimes[i] = own;
      reading.ts = own + offset;
    } // anything else: the reading's schema refuses it
  }
  const checked = validateReadings(ts, raw, ctx);
  if (!checked.ok) return checked;

  const readings = checked.readings.map((reading, i) => {
    const source: ReadingSource = { gateway: via.gatewayId, modality, receivedAt };
    if (deviceTimes[i] !== undefined) source.deviceTime = deviceTimes[i];
    const mdc = mdcCodeFor(reading.type, ctx.kind)?.code;
    if (mdc !== undefined) source.mdc = mdc;
    return Object.assign(reading, { source });
  });
  return {
    ok: true,
    envelope: { v: 1, seq, ts, readings, modality },
    identity: { systemId, serial },
    driftMs: clock ? clock.device - clock.gateway : undefined,
  };
}

function mismatch(detail: string): RelayedRefusal {
  return { ok: false, reason: 'DEVICE_IDENTITY_MISMATCH', detail };
}
