// `ping` and `config` for an operator (API or CLI through the running hub): the device must exist,
// a config's settings are checked before anything is signed, the signed command goes out through
// the hub's command publisher, and the answer comes back: acked, rejected (with the device's
// code), expired, or not_connected. The publisher audits each command.
import { VitalGateError } from '../../core/errors.js';
import type { DeviceRepository } from '../../core/store/devices.js';
import { validateDeviceSettings } from '../../pki/device-settings.js';
import type { CommandAnswer, DeviceCommandPort } from '../ports.js';

/** How long an operator's command may wait for its ack, at most (and by default). */
export const OPERATOR_COMMAND_TTL = { minMs: 1_000, maxMs: 300_000, defaultMs: 60_000 };

export interface OperatorCommandResult {
  deviceId: string;
  type: 'ping' | 'config';
  commandId: string;
  outcome: CommandAnswer;
  detail?: string;
}

export type OperatorCommand = { type: 'ping' } | { type: 'config'; settings: Record<string, unknown> };

export class DeviceCommands {
  constructor(
    private readonly devices: Pick<DeviceRepository, 'require'>,
    private readonly port: DeviceCommandPort | undefined,
  ) {}

  async send(
    deviceId: string,
    request: OperatorCommand,
    actor: string,
    ttlMs = OPERATOR_COMMAND_TTL.defaultMs,
  ): Promise<OperatorCommandResult> {
    this.devices.require(deviceId);
    if (!Number.isInteger(ttlMs) || ttlMs < OPERATOR_COMMAND_TTL.minMs || ttlMs > OPERATOR_COMMAND_TTL.maxMs)
      throw new VitalGateError('COMMAND_PARAMS_INVALID', 'the command lifetime must be 1 to 300 seconds');
    const params = request.type === 'config' ? validateDeviceSettings(request.settings) : {};
    if (!this.port) throw new VitalGateError('COMMANDS_UNAVAILABLE', 'signed commands need the running hub');
    const sent = await this.port.send(deviceId, request.type, params, actor, { ttlMs });
    return {
      deviceId,
      type: request.type,
      commandId: sent.command.id,
      outcome: sent.outcome,
      ...(sent.detail ? { detail: sent.detail } : {}),
    };
  }
}
