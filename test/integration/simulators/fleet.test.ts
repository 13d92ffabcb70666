// One fleet run against a whole in-process hub: seven patients, each wearing one device of each
// kind and each playing one clinical scenario, while every fault is injected by devices of its
// own. Each scenario must raise its alert; each fault must meet its refusal, as read back from
// the hub's metrics and records; the fleet's own readings must all be acknowledged and stored.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_NAMES } from '../../../simulators/faults.js';
import { Fleet, fleetStateDir } from '../../../simulators/fleet.js';
import type { FleetSummary } from '../../../simulators/fleet-summary.js';
import { SCENARIO_NAMES, SCENARIOS } from '../../../simulators/scenarios.js';
import { countPoints } from '../../support/ingest.js';
import { tempDir } from './harness.js';
import { startSimulatedHub, type SimulatedHub } from './simulated-hub.js';

let hub: SimulatedHub;
let state: { dir: string; cleanup(): void };
let summary: FleetSummary;
let stateDir: string;

beforeAll(async () => {
  // The whole fleet and every fault connect from this host: each is a source of its own in the
  // field, so the per-source cap on unfinished handshakes is raised to the fleet's size (under
  // load, 42 devices starting at once hold more than the default 16).
  hub = await startSimulatedHub({ VITALGATE_PENDING_HANDSHAKES_PER_SOURCE: '256' });
  state = tempDir();
  stateDir = fleetStateDir(state.dir, hub.pki.authority.caBundlePem());
  const fleet = await Fleet.prepare({
    devices: 6 * SCENARIO_NAMES.length,
    kinds: ['wearable', 'pulse_oximeter', 'bp_monitor', 'glucometer', 'weight_scale', 'thermometer'],
    rateHz: 1,
    durationS: 40,
    scenario: 'mix',
    scenarioDelayS: 1,
    faults: FAULT_NAMES,
    faultDelayS: 1,
    behaviourWindowS: hub.config.behaviourWindowSeconds,
    seed: 7,
    stateDir,
    provisioner: hub.provisioner,
    enrollment: () => hub.enrollment,
    broker: { host: '127.0.0.1', port: hub.port },
    readback: hub.readback,
    backoff: { initialMs: 200, maxMs: 2_000 },
  });
  fleet.start();
  await fleet.finished;
  summary = await fleet.stop();
}, 120_000);

afterAll(async () => {
  await hub?.close();
  state?.cleanup();
});

describe('a fleet playing every scenario', () => {
  it('enrolls every device, and the hub acknowledges and stores every reading it sent', async () => {
    expect(summary.devices).toMatchObject({ planned: 42, enrolled: 42, failed: [] });
    expect(summary.messages.buffered).toBe(0);
    expect(summary.readings.acked).toBe(summary.readings.sent);
    expect(summary.latencyMs?.count).toBe(summary.messages.acked);
    const fleetDevices = summary.devices.byKind;
    expect(Object.values(fleetDevices).every((n) => n === 7)).toBe(true);
    let stored = 0;
    for (let i = 0; i < 100; i++) {
      stored = await countPoints(hub.influxClient, 'WHERE d =~ /^sim-/ AND d !~ /^sim-fault-/');
      if (stored >= summary.readings.acked) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored).toBe(summary.readings.acked);
  });

  it('raises each scenario’s alert for the patient playing it', () => {
    const patients = (
      JSON.parse(readFileSync(join(stateDir, 'fleet.json'), 'utf8')) as {
        patients: Record<string, string>;
      }
    ).patients;
    for (const [k, name] of SCENARIO_NAMES.entries()) {
      const patientId = patients[`p${String(k + 1).padStart(3, '0')}`]!;
      const rules = hub.pki.store.alerts.list({ patientId }).map((a) => a.rule);
      expect(rules, `${name} for patient ${k + 1}`).toContain(SCENARIOS[name].expectedAlert);
    }
    expect(Object.keys(summary.alerts.seen).sort()).toEqual(
      SCENARIO_NAMES.map((n) => SCENARIOS[n].expectedAlert).sort(),
    );
    expect(summary.alerts.expected).toHaveLength(SCENARIO_NAMES.length);
  });
});

describe('every fault', () => {
  it('is met by the right refusal, read back from the hub', () => {
    expect(summary.faults.map((f) => f.fault)).toEqual([...FAULT_NAMES]);
    for (const report of summary.faults) {
      expect(
        report,
        `${report.fault}: hub: ${report.hub.join('; ')}; device: ${report.device.join('; ')}`,
      ).toMatchObject({ asExpected: true });
    }
    const outcome = Object.fromEntries(summary.faults.map((f) => [f.fault, f.outcome]));
    expect(outcome).toEqual({
      garbage: 'dead_lettered',
      wrong_topic: 'refused',
      wildcard_subscribe: 'refused',
      replayed_seq: 'dropped',
      clock_skew: 'dead_lettered',
      flood: 'quarantined',
      expired_cert: 'refused',
      revoked_cert: 'refused',
      other_device_cert: 'refused',
      stolen_device: 'refused',
      retained_publish: 'refused',
    });
  });

  it('a flood is quarantined by the behaviour monitor, which ends the session it floods from', () => {
    const flood = summary.faults.find((f) => f.fault === 'flood')!;
    const audit = hub.pki.store.audit;
    const quarantine = audit
      .list({ action: 'device.quarantine', outcome: 'success' })
      .find((e) => e.actor === 'system:monitor');
    expect(quarantine?.target).toMatch(/^device:sim-fault-flood-/);
    const target = quarantine!.target!;
    expect(hub.pki.store.devices.require(target.slice('device:'.length)).status).toBe('quarantined');
    // The quarantine closed the live session the device was streaming on, and the device saw it.
    expect(audit.list({ action: 'broker.kick', target })[0]?.details).toEqual({ cause: 'quarantine' });
    expect(audit.list({ action: 'broker.disconnect', target }).map((e) => e.details?.cause)).toContain(
      'kicked:quarantine',
    );
    expect(flood.device.at(-1)).toMatch(/^steady 40 msg\/s: \d+ sent, the hub closed the connection$/);
    expect(hub.broker.liveSessions().some((s) => `device:${s.deviceId}` === target)).toBe(false);
  });

  it('is in the summary the hub section counts', () => {
    expect(summary.hub?.deadLetters).toMatchObject({ MALFORMED_JSON: 1, SCHEMA_INVALID: 1, CLOCK_SKEW: 1 });
    expect(summary.hub?.connectionRefusals).toMatchObject({
      CERTIFICATE_EXPIRED: 1,
      CLIENT_ID_MISMATCH: 1,
      SOURCE_NOT_ALLOWED: 1,
    });
    expect(summary.hub?.authorizationFailures).toMatchObject({
      TOPIC_NOT_ALLOWED: 3,
      WILDCARD_NOT_ALLOWED: 2,
      RETAIN_NOT_ALLOWED: 1,
    });
  });
});
