// A simulated month of a small RPM fleet through the real ingest into a real InfluxDB, with
// realistic gaps (missed days, a week away, readings at 23:59 and 00:01 local time, manual
// nothing), time entries proposed and confirmed through the API, and the month closed: the
// statements equal the ledger this test computes on its own from what it sent. A closed
// statement edited in the SQLite file is then found by `vitalgate audit verify`.
//
// The site is in Asia/Kolkata (UTC+05:30, no daylight saving), so the test turns its local
// times into instants by itself (`${date}T${time}+05:30`) without the code under test, and the
// half-hour offset checks the 15-minute buckets the day count reads.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_PLANE_FILE } from '../../../core/store/control-plane.js';
import { runCli } from '../../support/cli.js';
import { addPatient } from '../../support/ingest.js';
import { startRpmHub, type RpmTestHub, type SimDevice } from '../../support/rpm.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { enrolledUser } from '../api/harness.js';

const ZONE = 'Asia/Kolkata';
const DAY = 86_400_000;
const local = (date: string, time: string) => Date.parse(`${date}T${time}:00+05:30`);
const addDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
const localDate = (at: number) => new Date(at + 330 * 60_000).toISOString().slice(0, 10);

// The month: the one that held the day 40 days ago (site time), so it is over, and its data
// (from ten days before it) lies within InfluxDB's 90-day retention.
const MONTH = localDate(Date.now() - 40 * DAY).slice(0, 7);
const FIRST = `${MONTH}-01`;
const START = addDays(FIRST, -10); // monitoring start: period 1 is START..START+29, ending in MONTH
const PERIOD_LAST = addDays(START, 29);

/** A small deterministic generator (mulberry32), so the gaps are the same on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Plan {
  name: string;
  devices: SimDevice[];
  /** Local date -> local times of day, per device index. */
  readings: { device: number; date: string; time: string }[];
  practitioner: boolean;
  /** Minutes of confirmed time entries, with their interactive flag. */
  time: { minutes: number; interactive: boolean }[];
}

let hub: RpmTestHub;
let clinician: string;
let admin: string;
const plans: Plan[] = [];
const patients: string[] = [];

function reading(kind: SimDevice['kind'], at: number, r: () => number): Record<string, unknown> {
  switch (kind) {
    case 'bp_monitor':
      return {
        type: 'blood_pressure',
        systolic: 120 + Math.round(r() * 30),
        diastolic: 80,
        unit: 'mm[Hg]',
        ts: at,
      };
    case 'weight_scale':
      return { type: 'body_weight', value: 80 + Math.round(r() * 20) / 10, unit: 'kg', ts: at };
    case 'glucometer':
      return { type: 'blood_glucose', value: 90 + Math.round(r() * 80), unit: 'mg/dL', ts: at };
    default:
      return { type: 'heart_rate', value: 60 + Math.round(r() * 30), unit: '/min', ts: at };
  }
}

beforeAll(async () => {
  hub = await startRpmHub(ZONE);
  clinician = (await enrolledUser(hub.asTestHub, 'rn.ledger', 'clinician')).token;
  admin = (await enrolledUser(hub.asTestHub, 'ops.ledger', 'admin')).token;
  await enrolledUser(hub.asTestHub, 'dr.bill', 'clinician');
  const r = random(25);
  const dates = Array.from({ length: 30 }, (_, i) => addDays(START, i));
  const make = (
    i: number,
    name: string,
    kinds: SimDevice['kind'][],
    practitioner: boolean,
    time: Plan['time'],
  ) => {
    const patientId = addPatient(hub.pki, name);
    patients.push(patientId);
    hub.pki.store.patients.assign(patientId, 'rn.ledger');
    const devices = kinds.map((kind, d) => {
      const device = { deviceId: `rpm-${i}-${d}`, kind, patientId };
      hub.pki.store.devices.add({ id: device.deviceId, kind, patientId });
      return device;
    });
    const plan: Plan = { name, devices, readings: [], practitioner, time };
    plans.push(plan);
    return plan;
  };
  // A cuff twice a day and a scale in the morning, each skipping about a third of the days; a
  // week away in the middle; a reading at 23:59 and the next at 00:01.
  const steady = make(0, 'Steady', ['bp_monitor', 'weight_scale'], true, [
    { minutes: 12, interactive: false },
    { minutes: 9, interactive: true },
    { minutes: 20, interactive: false },
  ]);
  dates.forEach((date, i) => {
    if (i >= 12 && i < 19) return; // away
    if (r() > 0.35)
      steady.readings.push({ device: 0, date, time: '08:05' }, { device: 0, date, time: '20:40' });
    if (r() > 0.3) steady.readings.push({ device: 1, date, time: '07:30' });
  });
  steady.readings.push(
    { device: 0, date: dates[13]!, time: '23:59' },
    { device: 0, date: dates[14]!, time: '00:01' },
  );
  // A glucometer on a few days: 2-15 days.
  const sparse = make(1, 'Sparse', ['glucometer'], true, [{ minutes: 15, interactive: true }]);
  for (const i of [1, 4, 5, 9, 17, 22, 29])
    sparse.readings.push({ device: 0, date: dates[i]!, time: '06:50' });
  // A wearable every few minutes in the evening, exactly 16 days (a 99454 at the edge).
  const worn = make(2, 'Worn', ['wearable'], true, [{ minutes: 19, interactive: true }]);
  dates
    .filter((_, i) => i % 2 === 0 || i === 1)
    .slice(0, 16)
    .forEach((date) => {
      for (const time of ['18:00', '18:03', '18:07', '23:50']) worn.readings.push({ device: 0, date, time });
    });
  // One day only, and no billing practitioner: nothing billable.
  const once = make(3, 'Once', ['pulse_oximeter'], false, [{ minutes: 41, interactive: true }]);
  once.readings.push({ device: 0, date: dates[3]!, time: '00:01' });
  // Readings outside the period (the day before monitoring started) count nowhere.
  once.readings.push({ device: 0, date: addDays(START, -1), time: '12:00' });

  const messages = plans
    .flatMap((p) => p.readings.map((x) => ({ device: p.devices[x.device]!, at: local(x.date, x.time) })))
    .sort((a, b) => a.at - b.at);
  for (const m of messages) await hub.send(m.device, m.at, [reading(m.device.kind, m.at, r)]);
  expect(await hub.pipeline.writer.drained()).toBe(true);

  for (const [i, p] of plans.entries()) {
    const id = patients[i]!;
    const put = await hub.client.request('PUT', `/api/v1/patients/${id}/rpm/enrolment`, {
      token: clinician,
      body: { monitoringStart: START, setupDate: START, consent: 'verbal' },
    });
    expect(put.status, put.text).toBe(200);
    if (p.practitioner) {
      const set = await hub.client.request('PUT', `/api/v1/patients/${id}/rpm/billing-practitioner`, {
        token: admin,
        body: { practitioner: 'dr.bill', fromMonth: START.slice(0, 7) },
      });
      expect(set.status, set.text).toBe(200);
    }
    for (const [n, t] of p.time.entries()) {
      const made = await hub.client.request('POST', `/api/v1/patients/${id}/rpm/time-entries`, {
        token: clinician,
        body: {
          startedAt: new Date(local(addDays(FIRST, 2 + n), '10:00')).toISOString(),
          minutes: t.minutes,
          activity: t.interactive ? 'patient_call' : 'data_review',
          interactive: t.interactive,
          origin: 'patient_view',
          note: `call ${n}`,
        },
      });
      expect(made.status, made.text).toBe(201);
      const entryId = (made.body as { id: number }).id;
      const ok = await hub.client.request('POST', `/api/v1/rpm/time-entries/${entryId}/confirm`, {
        token: clinician,
      });
      expect(ok.status, ok.text).toBe(200);
    }
    // A proposal never confirmed, and a discarded one: neither counts.
    for (const decide of [undefined, 'discard']) {
      const made = await hub.client.request('POST', `/api/v1/patients/${id}/rpm/time-entries`, {
        token: clinician,
        body: {
          startedAt: new Date(local(addDays(FIRST, 8), '09:00')).toISOString(),
          minutes: 30,
          activity: 'video_visit',
          interactive: true,
        },
      });
      expect(made.status).toBe(201);
      if (decide)
        expect(
          (
            await hub.client.request(
              'POST',
              `/api/v1/rpm/time-entries/${(made.body as { id: number }).id}/discard`,
              { token: clinician },
            )
          ).status,
        ).toBe(200);
    }
  }
}, 120_000);

afterAll(async () => {
  await hub?.close();
});

/** The ledger computed here, from what was sent and entered. */
function expected(p: Plan) {
  const days = new Set(
    p.readings.map((x) => localDate(local(x.date, x.time))).filter((d) => d >= START && d <= PERIOD_LAST),
  );
  const supply = days.size >= 16 ? '99454' : days.size >= 2 ? '99445' : null;
  const minutes = p.time.reduce((s, t) => s + t.minutes, 0);
  const interactive = p.time.some((t) => t.interactive);
  const time: string[] = [];
  if (interactive && minutes >= 20) {
    time.push('99457');
    for (let k = 0; k < Math.floor((minutes - 20) / 20); k++) time.push('99458');
  } else if (interactive && minutes >= 10) time.push('99470');
  const codes = [...(supply ? ['99453', supply] : []), ...time];
  return { days: [...days].sort(), codes, billable: p.practitioner && codes.length > 0 };
}

describe('a simulated month', () => {
  it('a month that is not over cannot be closed, nor by a clinician', async () => {
    const current = localDate(Date.now()).slice(0, 7);
    const early = await hub.client.request('POST', `/api/v1/rpm/months/${current}/close`, { token: admin });
    expect(early.status).toBe(409);
    expect((early.body as { error: { code: string } }).error.code).toBe('RPM_MONTH_NOT_OVER');
    const byClinician = await hub.client.request('POST', `/api/v1/rpm/months/${MONTH}/close`, {
      token: clinician,
    });
    expect(byClinician.status).toBe(403);
    expect(hub.pki.store.rpmStatements.monthClose(MONTH)).toBeUndefined();
  });

  it('closes into statements equal to the ledger computed from what was sent', async () => {
    const closed = await hub.client.request('POST', `/api/v1/rpm/months/${MONTH}/close`, { token: admin });
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body).toMatchObject({ month: MONTH, statements: 4 });
    for (const [i, p] of plans.entries()) {
      const res = await hub.client.request('GET', `/api/v1/patients/${patients[i]}/rpm/statements/${MONTH}`, {
        token: clinician,
      });
      expect(res.status, res.text).toBe(200);
      const { sealed, statement } = res.body as {
        sealed: boolean;
        statement: {
          codes: { code: string; units: number }[];
          supplyPeriods: { dates: string[] }[];
          billable: boolean;
        };
      };
      const want = expected(p);
      expect(sealed).toBe(true);
      expect(statement.supplyPeriods[0]!.dates, p.name).toEqual(want.days);
      expect(
        statement.codes.flatMap((c) => Array(c.units).fill(c.code)),
        p.name,
      ).toEqual(want.codes);
      expect(statement.billable, p.name).toBe(want.billable);
    }
    // The edges the plans hold: the steady one's 23:59 and 00:01 are two days; 16 days is 99454.
    expect(expected(plans[2]!).days).toHaveLength(16);
    expect(expected(plans[1]!).codes).toContain('99445');
    // Every read was a PHI read, audited.
    const reads = hub.pki.store.audit.list({ action: 'phi.read', actor: 'user:rn.ledger', limit: 1000 });
    expect(reads.filter((e) => e.details?.what === 'rpm_statement')).toHaveLength(4);
  });

  it('a closed month refuses more time and a second close', async () => {
    const more = await hub.client.request('POST', `/api/v1/patients/${patients[0]}/rpm/time-entries`, {
      token: clinician,
      body: {
        startedAt: new Date(local(addDays(FIRST, 3), '11:00')).toISOString(),
        minutes: 10,
        activity: 'other',
        interactive: true,
      },
    });
    expect(more.status).toBe(409);
    expect((more.body as { error: { code: string } }).error.code).toBe('RPM_MONTH_CLOSED');
    const again = await hub.client.request('POST', `/api/v1/rpm/months/${MONTH}/close`, { token: admin });
    expect(again.status).toBe(409);
    expect(hub.pki.store.rpmStatements.forMonth(MONTH)).toHaveLength(4);
  });

  it('exports the month as CSV and as a FHIR Bundle of ChargeItems', async () => {
    const csv = await hub.client.request('GET', `/api/v1/rpm/months/${MONTH}/statements?format=csv`, {
      token: clinician,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = csv.text.trim().split('\r\n');
    expect(rows[0]).toBe(
      'month,patient_id,billing_practitioner,code,units,basis,billable,problems,statement_sha256',
    );
    const codeRows = plans.reduce((n, p) => n + Math.max(1, new Set(expected(p).codes).size), 0);
    expect(rows).toHaveLength(1 + codeRows);
    const fhir = await hub.client.request('GET', `/api/v1/rpm/months/${MONTH}/statements?format=fhir`, {
      token: clinician,
    });
    expect(fhir.status).toBe(200);
    const bundle = fhir.body as {
      type: string;
      entry: { resource: { resourceType: string; code: { coding: { code: string }[] } } }[];
    };
    expect(bundle.type).toBe('collection');
    // Each ChargeItem against the official R4 schema (the Bundle's own schema pulls in every
    // resource type and takes seconds to compile; its envelope is checked by hand).
    expect(Object.keys(bundle).sort()).toEqual(['entry', 'identifier', 'resourceType', 'timestamp', 'type']);
    for (const e of bundle.entry)
      expect((e as unknown as { fullUrl: string }).fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const validItem = fhirValidator('ChargeItem');
    for (const e of bundle.entry) expect(validItem(e.resource), JSON.stringify(validItem.errors)).toBe(true);
    const codes = bundle.entry.map((e) => e.resource.code.coding[0]!.code).sort();
    expect(codes).toEqual(plans.flatMap((p) => [...new Set(expected(p).codes)]).sort());
  });

  it('a statement edited in the SQLite file afterwards is found by vitalgate audit verify', async () => {
    const env = { VITALGATE_DATA_DIR: hub.pki.dataDir };
    expect(hub.pki.store.audit.verify()).toMatchObject({ ok: true });
    const db = new Database(join(hub.pki.dataDir, CONTROL_PLANE_FILE));
    try {
      const row = db.prepare('SELECT content FROM rpm_statements WHERE patient_id = ?').get(patients[1]) as {
        content: string;
      };
      db.prepare('UPDATE rpm_statements SET content = ? WHERE patient_id = ?').run(
        row.content.replace('"99445"', '"99454"'),
        patients[1],
      );
    } finally {
      db.close();
    }
    const after = await runCli(['audit', 'verify'], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/audit chain broken at entry \d+ \(sealed record mismatch\)/);
    const seal = hub.pki.store.audit.list({
      action: 'rpm.statement.close',
      target: `patient:${patients[1]}`,
    })[0]!;
    expect(after.stderr).toContain(`entry ${seal.seq} `);
  });
});
