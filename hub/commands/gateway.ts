// `vitalgate gateway bind|unbind|list`: which Bluetooth devices a gateway may relay readings for
// (docs/GATEWAYS.md), through the same GatewayRegistry as /api/v1/gateways. The CLI runs without
// the broker: a running hub reloads its gateways' bindings within a second.
import { GatewayRegistry } from '../../dashboard-api/services/gateway-registry.js';
import { cliActor, optionalString, requirePositional, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const gatewayBind: CommandSpec = {
  name: 'gateway bind',
  summary: 'Bind a device to a gateway: the gateway may relay its readings, and no other may.',
  usage: 'gateway bind GATEWAY_ID DEVICE_ID [--system-id EUI64|BT_ADDRESS] [--serial S] [--json]',
  options: { 'system-id': { type: 'string' }, serial: { type: 'string' } },
  details: [
    'A device bound to another gateway is moved here (audited); its seq starts again (a new replay window).',
    'Without --system-id the first reading accepted through the gateway pins the device identity it names.',
    'A pending device becomes active: the gateway is its transport.',
  ],
  async run(args, io) {
    const gatewayId = requirePositional(args, 0, 'gateway ID');
    const deviceId = requirePositional(args, 1, 'device ID');
    const ctx = openContext(readConfig(args, io.env));
    try {
      const view = new GatewayRegistry(ctx.store, undefined).bind(
        gatewayId,
        deviceId,
        { systemId: optionalString(args, 'system-id'), serial: optionalString(args, 'serial') },
        cliActor(),
      );
      if (args.values.json) io.json(view);
      else io.out(`device ${deviceId} bound to gateway ${gatewayId}`);
    } finally {
      ctx.close();
    }
  },
};

export const gatewayUnbind: CommandSpec = {
  name: 'gateway unbind',
  summary: 'Unbind a device from a gateway: its readings through the gateway are refused from then on.',
  usage: 'gateway unbind GATEWAY_ID DEVICE_ID [--json]',
  options: {},
  async run(args, io) {
    const gatewayId = requirePositional(args, 0, 'gateway ID');
    const deviceId = requirePositional(args, 1, 'device ID');
    const ctx = openContext(readConfig(args, io.env));
    try {
      const view = new GatewayRegistry(ctx.store, undefined).unbind(gatewayId, deviceId, cliActor());
      if (args.values.json) io.json(view);
      else io.out(`device ${deviceId} unbound from gateway ${gatewayId}`);
    } finally {
      ctx.close();
    }
  },
};

export const gatewayList: CommandSpec = {
  name: 'gateway list',
  summary: 'List the devices bound to a gateway (or to every gateway).',
  usage: 'gateway list [GATEWAY_ID] [--json]',
  options: {},
  async run(args, io) {
    const gatewayId = args.positionals[0];
    const ctx = openContext(readConfig(args, io.env));
    try {
      const views = new GatewayRegistry(ctx.store, undefined).list(gatewayId);
      if (args.values.json) io.json(views);
      else if (views.length === 0) io.out('no bound devices');
      else
        for (const v of views)
          io.out(
            `${v.gatewayId.padEnd(24)} ${v.deviceId.padEnd(24)} ${v.kind.padEnd(15)} ${v.status.padEnd(11)} ${v.systemId ?? '(not pinned yet)'}`,
          );
    } finally {
      ctx.close();
    }
  },
};
