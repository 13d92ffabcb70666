// The seam between the broker and the durable intake (ingest/). aedes writes a QoS-1 PUBACK only
// after `authorizePublish` calls back, so the broker awaits `accept` there: a resolved promise
// means "durable, ack it" (accepted, duplicate or dead-lettered for good); a rejection means
// "not stored, do not ack" (the device keeps the message and sends it again).
import type { GatewayVia } from '../core/store/gateway-bindings.js';
import type { DeviceIdentity } from './identity.js';

export type IntakeOutcome = { outcome: 'accepted' | 'duplicate' | 'dead_letter'; reason?: string };

/**
 * What the intake learns of the sender: ids, kind and enrollment (its replay window), never the
 * certificate. A reading relayed by a gateway names the measuring device, with `via` its binding.
 */
export type IntakeDevice = Pick<DeviceIdentity, 'deviceId' | 'kind' | 'patientId' | 'enrollment'> & {
  via?: GatewayVia;
};

export interface TelemetryIntake {
  /** Telemetry from `devices/{id}/telemetry`. Reject (throw) to withhold the PUBACK. */
  accept(device: IntakeDevice, payload: Buffer): Promise<IntakeOutcome>;
  /** Status from `devices/{id}/status`; best effort, never withholds the PUBACK. */
  acceptStatus?(device: IntakeDevice, payload: Buffer): Promise<void> | void;
}

/** The default until the ingest pipeline is wired: counts and acknowledges, stores nothing. */
export class CountingIntake implements TelemetryIntake {
  telemetry = 0;
  telemetryBytes = 0;
  status = 0;

  accept(_device: IntakeDevice, payload: Buffer): Promise<IntakeOutcome> {
    this.telemetry += 1;
    this.telemetryBytes += payload.length;
    return ACCEPTED;
  }

  acceptStatus(): void {
    this.status += 1;
  }
}

const ACCEPTED: Promise<IntakeOutcome> = Promise.resolve({ outcome: 'accepted' });
