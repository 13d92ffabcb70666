// Gateways and the Bluetooth devices bound to them (docs/GATEWAYS.md), for the API's /gateways
// and the `vitalgate gateway` commands alike. A binding is made by an operator and audited; it
// may pin the measuring device's identity (IEEE 11073 system id or Bluetooth address, serial),
// else the first accepted reading pins it. A pending device becomes active when bound (the
// gateway is its transport: it has no certificate of its own). Every change reaches the broker
// through the kicker port: the gateway's map of bound devices is reloaded at once (the running
// hub also reloads it each second, for changes made by the CLI).
import { GATEWAY_KIND } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import type { Device } from '../../core/store/devices.js';
import type { GatewayBinding } from '../../core/store/gateway-bindings.js';
import type { DeviceSessionKicker } from '../ports.js';

const SYSTEM_ID = /^[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
const SERIAL = /^.{1,64}$/u;
const ENDED = new Set(['revoked', 'wiped']);

export interface BindingView {
  gatewayId: string;
  deviceId: string;
  kind: string;
  status: string;
  patientId: string | null;
  systemId: string | null;
  serial: string | null;
  boundAt: string;
  boundBy: string;
  clockDriftMs: number | null;
}

export interface BindRequest {
  systemId?: string | undefined;
  serial?: string | undefined;
}

export class GatewayRegistry {
  constructor(
    private readonly store: ControlPlane,
    private readonly kicker: DeviceSessionKicker | undefined,
  ) {}

  bind(
    gatewayId: string,
    deviceId: string,
    request: BindRequest,
    actor: string,
    source?: string,
  ): BindingView {
    const gateway = this.requireGateway(gatewayId);
    if (ENDED.has(gateway.status))
      throw new VitalGateError('GATEWAY_STATE_CONFLICT', `the gateway is ${gateway.status}`);
    const device = this.store.devices.require(deviceId);
    if (device.kind === GATEWAY_KIND)
      throw new VitalGateError('DEVICE_KIND_INVALID', 'a gateway cannot be bound to a gateway');
    if (ENDED.has(device.status))
      throw new VitalGateError('DEVICE_STATE_CONFLICT', `the device is ${device.status}`);
    if (device.currentSerial !== null)
      throw new VitalGateError(
        'DEVICE_STATE_CONFLICT',
        'the device has a certificate of its own (it connects itself); revoke it before relaying it',
      );
    if (request.systemId !== undefined && !SYSTEM_ID.test(request.systemId))
      throw new VitalGateError(
        'SYSTEM_ID_INVALID',
        'systemId must be an IEEE EUI-64 system id (16 hex digits) or a Bluetooth address (AA:BB:CC:DD:EE:FF)',
      );
    if (request.serial !== undefined && !SERIAL.test(request.serial))
      throw new VitalGateError('SERIAL_INVALID', 'serial must be 1 to 64 characters');
    const previous = this.store.gatewayBindings.ofDevice(deviceId);
    const binding = this.store.transaction(() => {
      const bound = this.store.gatewayBindings.bind({
        deviceId,
        gatewayId,
        systemId: request.systemId?.toUpperCase() ?? null,
        serial: request.serial ?? null,
        boundBy: actor,
      });
      if (device.status === 'pending')
        this.store.devices.setStatus(deviceId, 'active', `bound to gateway ${gatewayId}`);
      this.store.audit.append({
        actor,
        action: 'gateway.bind',
        target: `device:${deviceId}`,
        outcome: 'success',
        source,
        details: {
          gateway: gatewayId,
          binding: bound.id,
          previousGateway: previous?.gatewayId ?? null,
          systemIdPinned: bound.systemId !== null,
        },
      });
      return bound;
    });
    this.kicker?.kick(deviceId, 'gateway_bound');
    return this.view(binding);
  }

  unbind(gatewayId: string, deviceId: string, actor: string, source?: string): BindingView {
    const binding = this.store.gatewayBindings.ofDevice(deviceId);
    if (!binding || binding.gatewayId !== gatewayId)
      throw new VitalGateError(
        'GATEWAY_BINDING_NOT_FOUND',
        `device ${deviceId} is not bound to gateway ${gatewayId}`,
      );
    const view = this.view(binding);
    this.store.transaction(() => {
      this.store.gatewayBindings.unbind(deviceId);
      this.store.audit.append({
        actor,
        action: 'gateway.unbind',
        target: `device:${deviceId}`,
        outcome: 'success',
        source,
        details: { gateway: gatewayId, binding: binding.id },
      });
    });
    this.kicker?.kick(deviceId, 'gateway_unbound');
    return view;
  }

  /** The bindings of one gateway, or of every gateway. */
  list(gatewayId?: string): BindingView[] {
    if (gatewayId !== undefined) this.requireGateway(gatewayId);
    const bindings = gatewayId
      ? this.store.gatewayBindings.ofGateway(gatewayId)
      : this.store.gatewayBindings.list();
    return bindings.map((b) => this.view(b));
  }

  private requireGateway(gatewayId: string): Device {
    const gateway = this.store.devices.get(gatewayId);
    if (!gateway) throw new VitalGateError('GATEWAY_NOT_FOUND', `no gateway ${gatewayId}`);
    if (gateway.kind !== GATEWAY_KIND)
      throw new VitalGateError('NOT_A_GATEWAY', `device ${gatewayId} is a ${gateway.kind}, not a gateway`);
    return gateway;
  }

  private view(binding: GatewayBinding): BindingView {
    const device = this.store.devices.get(binding.deviceId);
    return {
      gatewayId: binding.gatewayId,
      deviceId: binding.deviceId,
      kind: device?.kind ?? 'unknown',
      status: device?.status ?? 'unknown',
      patientId: device?.patientId ?? null,
      systemId: binding.systemId,
      serial: binding.serial,
      boundAt: new Date(binding.boundAt).toISOString(),
      boundBy: binding.boundBy,
      clockDriftMs: binding.clockDriftMs,
    };
  }
}
