// The run-wide part of the summary that comes from the hub: the alerts it raised for the fleet's
// devices (from its records, else from its alert counter) and how its main counters grew over
// the run (readings accepted, dead letters, duplicates, refusals).
import type { FleetSummary } from './fleet-summary.js';
import { growth, growthBy, series, type HubReadback, type MetricSamples } from './hub-readback.js';

export async function fleetAlerts(
  readback: HubReadback,
  since: number,
  deviceIds: ReadonlySet<string>,
  before: MetricSamples | undefined,
): Promise<{ seen: Record<string, number>; source: string }> {
  const records = await readback.alerts?.(since);
  if (records) {
    const seen: Record<string, number> = {};
    for (const alert of records) {
      if (deviceIds.has(alert.deviceId)) seen[alert.rule] = (seen[alert.rule] ?? 0) + 1;
    }
    return { seen, source: "the hub's alert records for the fleet's devices" };
  }
  const after = before ? await readback.metrics() : undefined;
  if (before && after) {
    return {
      seen: growthBy(before, after, 'vitalgate_alerts_raised_total', 'rule'),
      source: "the hub's alert counter (all patients)",
    };
  }
  return { seen: {}, source: 'not readable: neither alert records nor metrics reachable' };
}

export async function fleetHubSection(
  readback: HubReadback,
  before: MetricSamples | undefined,
): Promise<FleetSummary['hub']> {
  const after = before ? await readback.metrics() : undefined;
  if (!before || !after) return null;
  return {
    source: readback.source,
    readingsAccepted: growth(before, after, series('vitalgate_ingest_readings_accepted_total')),
    deadLetters: growthBy(before, after, 'vitalgate_ingest_dead_letters_total', 'reason'),
    duplicates: growthBy(before, after, 'vitalgate_ingest_duplicates_total', 'kind'),
    connectionRefusals: growthBy(before, after, 'vitalgate_mqtt_connection_refusals_total', 'reason'),
    authorizationFailures: growthBy(before, after, 'vitalgate_mqtt_authorization_failures_total', 'reason'),
  };
}
