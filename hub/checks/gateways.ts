// Gateway checks (docs/GATEWAYS.md): gateways relaying nothing, devices left bound to a gateway
// that may no longer connect, readings typed in by hand above the programme's share, device
// clocks drifting past the limit, and bindings whose device identity nobody pinned yet.
import { GATEWAY_KIND } from '../../core/domain.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DEVICES = 'Device security controls';
const WEEK_MS = 7 * 86_400_000;
/** A gateway that may no longer connect: its devices' readings have no way in. */
const ENDED = new Set(['revoked', 'wiped']);

export const gatewaysWithoutDevices: DeploymentCheck = {
  id: 'VG-GW-001',
  title: 'Every active gateway relays at least one device',
  severity: 'low',
  verifies:
    'No enrolled gateway is left without a bound device (an identity that can connect and relays nothing).',
  how: 'Lists active devices of kind gateway and their bindings in the control plane.',
  references: {
    owasp: DEVICES,
    hipaa: '164.312(a)(1) Access control',
    deviceDefender: 'Unused device identities',
  },
  run({ store }) {
    const gateways = store.devices.list({ status: 'active' }).filter((d) => d.kind === GATEWAY_KIND);
    if (gateways.length === 0) return notApplicable('no active gateway');
    const idle = gateways.filter((g) => store.gatewayBindings.ofGateway(g.id).length === 0).map((g) => g.id);
    if (idle.length === 0)
      return pass(`${gateways.length} active gateway(s), each relaying at least one device`);
    return warn(
      `${idle.length} of ${gateways.length} active gateway(s) relay no device: ${listIds(idle)}`,
      'Bind their devices (vitalgate gateway bind GW DEV), or disable or revoke gateways no longer in use.',
    );
  },
};

export const devicesOnEndedGateways: DeploymentCheck = {
  id: 'VG-GW-002',
  title: 'No device is bound to a revoked gateway',
  severity: 'high',
  verifies:
    'Every bound device’s gateway can still connect, so no patient’s readings silently stop arriving.',
  how: 'Joins the gateway bindings with the gateways’ status in the control plane.',
  references: { owasp: DEVICES, hipaa: '164.312(c)(1) Integrity' },
  run({ store }) {
    const bindings = store.gatewayBindings.list();
    if (bindings.length === 0) return notApplicable('no device is bound to a gateway');
    const stranded = bindings
      .filter((b) => ENDED.has(store.devices.get(b.gatewayId)?.status ?? 'revoked'))
      .map((b) => `${b.deviceId} (gateway ${b.gatewayId})`);
    if (stranded.length === 0) return pass(`${bindings.length} binding(s), every gateway able to connect`);
    return fail(
      `${stranded.length} device(s) bound to a revoked or wiped gateway: ${listIds(stranded)}`,
      'Bind each device to the patient’s new gateway (vitalgate gateway bind NEW_GW DEV), or unbind it.',
    );
  },
};

export const manualReadingShare: DeploymentCheck = {
  id: 'VG-GW-003',
  title: 'Readings typed in by hand stay within the policy share',
  severity: 'medium',
  verifies:
    'No relayed device has more of its last 7 days of readings entered by a person than VITALGATE_GATEWAY_MANUAL_SHARE_MAX allows (remote monitoring counts sensed readings).',
  how: 'Counts the last 7 days of telemetry points per device and `modality` tag in InfluxDB (no values are read).',
  references: { owasp: DEVICES, hipaa: '164.312(c)(1) Integrity' },
  async run({ influx, config }) {
    if (!influx) return notApplicable('no InfluxDB connection');
    const series = await influx
      .query('SELECT count(c) FROM telemetry WHERE time > now() - 7d GROUP BY d, modality')
      .catch(() => []);
    const counts = new Map<string, { manual: number; all: number }>();
    for (const s of series) {
      const device = s.tags?.d ?? '';
      const n = Number(s.rows[0]?.count ?? 0);
      const entry = counts.get(device) ?? { manual: 0, all: 0 };
      entry.all += n;
      if (s.tags?.modality === 'manual') entry.manual += n;
      counts.set(device, entry);
    }
    const relayed = [...counts].filter(([, c]) => c.all > 0);
    if (!series.some((s) => s.tags?.modality)) return notApplicable('no relayed readings in the last 7 days');
    const max = config.gatewayManualShareMax;
    const over = relayed
      .filter(([, c]) => c.manual / c.all > max)
      .map(([d, c]) => `${d} (${Math.round((c.manual / c.all) * 100)} %)`);
    if (over.length === 0) return pass(`every device at or under ${Math.round(max * 100)} % manual readings`);
    return warn(
      `${over.length} device(s) above ${Math.round(max * 100)} % manual readings in 7 days: ${listIds(over)}`,
      'Check the device pairs with its gateway (a broken Bluetooth link makes people type readings in), or replace the device.',
    );
  },
};

export const deviceClockDrift: DeploymentCheck = {
  id: 'VG-GW-004',
  title: 'Bluetooth device clocks stay within the drift limit',
  severity: 'medium',
  verifies:
    'No relayed device’s clock was seen in the last 7 days further from its gateway’s than VITALGATE_GATEWAY_CLOCK_DRIFT_LIMIT_SECONDS.',
  how: 'Reads the last clock drift each binding recorded (coincident time reference) from the control plane.',
  references: { owasp: DEVICES, hipaa: '164.312(c)(1) Integrity' },
  run({ store, config, now }) {
    const seen = store.gatewayBindings.list().filter((b) => b.driftAt !== null && now - b.driftAt <= WEEK_MS);
    if (seen.length === 0) return notApplicable('no device clock reading in the last 7 days');
    const limit = config.gatewayClockDriftLimitSeconds * 1000;
    const drifting = seen
      .filter((b) => Math.abs(b.clockDriftMs ?? 0) > limit)
      .map((b) => `${b.deviceId} (${Math.round((b.clockDriftMs ?? 0) / 1000)} s)`);
    if (drifting.length === 0)
      return pass(
        `${seen.length} device clock(s) within ${config.gatewayClockDriftLimitSeconds} s of their gateway`,
      );
    return warn(
      `${drifting.length} device clock(s) beyond ${config.gatewayClockDriftLimitSeconds} s: ${listIds(drifting)}`,
      'Readings are corrected by the time reference, but a device without one is not: have the gateway set the device clock, or replace its battery.',
    );
  },
};

export const unpinnedIdentities: DeploymentCheck = {
  id: 'VG-GW-005',
  title: 'Every bound device’s identity is pinned',
  severity: 'medium',
  verifies:
    'Each binding names the device it relays (IEEE system id or Bluetooth address), so a gateway cannot pass off another device’s readings as the bound one’s.',
  how: 'Lists bindings older than a day without a pinned identity in the control plane.',
  references: { owasp: DEVICES, hipaa: '164.312(d) Person or entity authentication' },
  run({ store, now }) {
    const bindings = store.gatewayBindings.list();
    if (bindings.length === 0) return notApplicable('no device is bound to a gateway');
    const open = bindings
      .filter((b) => b.systemId === null && now - b.boundAt > 86_400_000)
      .map((b) => b.deviceId);
    if (open.length === 0) return pass(`${bindings.length} binding(s), each pinned or bound within the day`);
    return warn(
      `${open.length} binding(s) a day old or more with no pinned device identity: ${listIds(open)}`,
      'Bind again with the device’s identity (vitalgate gateway bind GW DEV --system-id …), or check why its gateway sends nothing.',
    );
  },
};

export const GATEWAY_CHECKS: readonly DeploymentCheck[] = [
  gatewaysWithoutDevices,
  devicesOnEndedGateways,
  manualReadingShare,
  deviceClockDrift,
  unpinnedIdentities,
];
