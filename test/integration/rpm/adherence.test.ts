// Adherence over the API against a real InfluxDB: days of sensed data in the rolling 30 days
// from the minute rollups the real ingest writes, a gateway's manual entries not counted, the
// programme view falling behind first with its days-of-data filter, and the PHI gate (a read is
// audited, a refusal shows nothing).
//
// A gateway's relayed readings go through the real relayed intake (issue #24): its reading
// points carry the tag `modality`, its rollups do not.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirPatientId } from '../../../fhir/ids.js';
import { addPatient } from '../../support/ingest.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { startRpmHub, type RpmTestHub, type SimDevice } from '../../support/rpm.js';
import { enrolledUser } from '../api/harness.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The site's local date (Asia/Kolkata, UTC+05:30, no daylight saving) of an instant. */
const localDate = (at: number) => new Date(at + 330 * 60_000).toISOString().slice(0, 10);

let hub: RpmTestHub;
let nurse: string;
let other: string;
let auditor: string;
const ids: Record<string, string> = {};
const now = Date.now();
const today = localDate(now);
const start = localDate(now - 14 * DAY);
const sentGlucose: { at: number; v: number }[] = [];

beforeAll(async () => {
  hub = await startRpmHub('Asia/Kolkata');
  nurse = (await enrolledUser(hub.asTestHub, 'rn.adh', 'clinician')).token;
  other = (await enrolledUser(hub.asTestHub, 'rn.other', 'clinician')).token;
  auditor = (await enrolledUser(hub.asTestHub, 'aud.adh', 'auditor')).token;
  for (const name of ['daily', 'relayed', 'silent', 'unenrolled', 'elsewhere', 'glucose']) {
    ids[name] = addPatient(hub.pki, name);
    if (name !== 'elsewhere') hub.pki.store.patients.assign(ids[name]!, 'rn.adh');
  }
  const cuff: SimDevice = { deviceId: 'adh-cuff', kind: 'bp_monitor', patientId: ids.daily! };
  hub.pki.store.devices.add({ id: 'adh-cuff', kind: 'bp_monitor', patientId: ids.daily! });
  hub.pki.store.devices.add({ id: 'adh-gw-cuff', kind: 'bp_monitor', patientId: ids.relayed! });
  hub.pki.store.devices.add({ id: 'adh-quiet', kind: 'glucometer', patientId: ids.silent! });
  // A glucometer four times a day for 10 days, values spread so each hour's percentiles differ.
  hub.pki.store.devices.add({ id: 'adh-gluc', kind: 'glucometer', patientId: ids.glucose! });
  const gluc: SimDevice = { deviceId: 'adh-gluc', kind: 'glucometer', patientId: ids.glucose! };
  const glucoseSent: { at: number; v: number }[] = [];
  for (let i = 10; i >= 1; i--)
    for (const h of [1, 7, 13, 19]) {
      const at = now - i * DAY - h * HOUR - 7 * 60_000;
      glucoseSent.push({ at, v: 60 + ((i * 37 + h * 11) % 200) });
    }
  glucoseSent.sort((a, b) => a.at - b.at);
  for (const g of glucoseSent)
    await hub.send(gluc, g.at, [{ type: 'blood_glucose', value: g.v, unit: 'mg/dL', ts: g.at }]);
  sentGlucose.push(...glucoseSent);
  // The cuff every day for 20 days, an hour before now each day (today included).
  for (let i = 19; i >= 0; i--) {
    const at = now - i * DAY - HOUR;
    await hub.send(cuff, at, [
      { type: 'blood_pressure', systolic: 128, diastolic: 82, unit: 'mm[Hg]', ts: at },
    ]);
  }
  expect(await hub.pipeline.writer.drained()).toBe(true);
  // Relayed by a home gateway (the gateway intake of issue #24): sensed on days 2, 3 and 5 ago,
  // typed in by hand on days 1, 4, 6, 7 and 8 ago.
  hub.pki.store.devices.add({ id: 'adh-gw', kind: 'gateway', patientId: null });
  const binding = hub.pki.store.gatewayBindings.bind({
    deviceId: 'adh-gw-cuff',
    gatewayId: 'adh-gw',
    systemId: '00112233445566AA',
    boundBy: 'test',
  });
  const via = { gatewayId: 'adh-gw', bindingId: binding.id, systemId: binding.systemId, serial: null };
  const relayedReadings = [
    ...[2, 3, 5].map((d) => ({ d, modality: 'sensed' })),
    ...[1, 4, 6, 7, 8].map((d) => ({ d, modality: 'manual' })),
  ].sort((a, b) => b.d - a.d);
  for (const [seq, { d, modality }] of relayedReadings.entries()) {
    const at = now - d * DAY - 2 * HOUR;
    hub.sim.now = at + 1_000;
    const payload = {
      v: 1,
      seq: seq + 1,
      ts: at,
      device: { systemId: '00112233445566AA' },
      modality,
      receivedAt: at,
      readings: [{ type: 'blood_pressure', systolic: 131, diastolic: 84, unit: 'mm[Hg]', ts: at }],
    };
    const result = await hub.pipeline.accept(
      { deviceId: 'adh-gw-cuff', kind: 'bp_monitor', patientId: ids.relayed!, via },
      Buffer.from(JSON.stringify(payload)),
    );
    expect(result, modality).toEqual({ outcome: 'accepted' });
  }

  for (const name of ['daily', 'relayed', 'silent', 'elsewhere']) {
    const res = await hub.client.request('PUT', `/api/v1/patients/${ids[name]}/rpm/enrolment`, {
      token: name === 'elsewhere' ? other : nurse,
      body: { monitoringStart: start, consent: 'electronic' },
    });
    // 'elsewhere' is not rn.other's patient either: the gate refuses, and nothing is enrolled.
    if (name === 'elsewhere') {
      expect(res.status).toBe(403);
      expect(hub.pki.store.rpmEnrolments.get(ids.elsewhere!)).toBeUndefined();
      hub.pki.store.rpmEnrolments.put({
        patientId: ids.elsewhere!,
        monitoringStart: start,
        endedOn: null,
        consentAt: now,
        consentBy: 'user:admin',
        consentMethod: 'written',
        setupDate: null,
        enrolledBy: 'user:admin',
        enrolledAt: now,
      });
    } else expect(res.status, res.text).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await hub?.close();
});

type Adherence = {
  patientId: string;
  days: number;
  lastReadingAt: string | null;
  period: { days: number; needed: number; reachable: boolean } | null;
  devices: { deviceId: string; days: number; cadenceMet: boolean; lastReadingAt: string | null }[];
};

describe('adherence', () => {
  it('counts sensed days per patient and device, never manual entries', async () => {
    const res = await hub.client.request('GET', `/api/v1/patients/${ids.daily}/rpm/adherence`, {
      token: nurse,
    });
    expect(res.status, res.text).toBe(200);
    const daily = res.body as Adherence;
    const expectedDays = new Set(Array.from({ length: 20 }, (_, i) => localDate(now - i * DAY - HOUR)));
    expect(daily.days).toBe(expectedDays.size);
    expect(daily.devices).toEqual([
      expect.objectContaining({ deviceId: 'adh-cuff', days: expectedDays.size, cadenceMet: true }),
    ]);
    expect(daily.period!.days).toBe([...expectedDays].filter((d) => d >= start && d <= today).length);

    const relayed = (
      await hub.client.request('GET', `/api/v1/patients/${ids.relayed}/rpm/adherence`, { token: nurse })
    ).body as Adherence;
    expect(relayed.days).toBe(3);
    // Its newest sensed reading was 2 days ago: the manual one of yesterday is not a reading sent.
    expect(Date.parse(relayed.lastReadingAt!)).toBeLessThanOrEqual(now - 2 * DAY);
    expect(relayed.devices[0]!.cadenceMet).toBe(false);
  });

  it('lists the programme falling behind first, filtered by days of data', async () => {
    const res = await hub.client.request('GET', '/api/v1/rpm/programme', { token: nurse });
    expect(res.status, res.text).toBe(200);
    const list = (res.body as { patients: Adherence[] }).patients;
    expect(list.map((p) => p.patientId)).toEqual([ids.silent, ids.relayed, ids.daily]);
    expect(list[0]!.devices[0]).toMatchObject({
      deviceId: 'adh-quiet',
      days: 0,
      lastReadingAt: null,
      cadenceMet: false,
    });
    const few = await hub.client.request('GET', '/api/v1/rpm/programme?maxDays=5', { token: nurse });
    expect((few.body as { patients: Adherence[] }).patients.map((p) => p.patientId)).toEqual([
      ids.silent,
      ids.relayed,
    ]);
    const many = await hub.client.request('GET', '/api/v1/rpm/programme?minDays=10', { token: nurse });
    expect((many.body as { patients: Adherence[] }).patients.map((p) => p.patientId)).toEqual([ids.daily]);
    const bad = await hub.client.request('GET', '/api/v1/rpm/programme?minDays=9&maxDays=3', {
      token: nurse,
    });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });

  it('every patient listed is a PHI read; a clinician without the patient and an auditor see nothing', async () => {
    const reads = hub.pki.store.audit
      .list({ action: 'phi.read', actor: 'user:rn.adh', limit: 1000 })
      .filter((e) => e.details?.what === 'rpm_adherence');
    expect(new Set(reads.map((e) => e.target))).toEqual(
      new Set([ids.daily, ids.relayed, ids.silent].map((id) => `patient:${id}`)),
    );
    const refused = await hub.client.request('GET', `/api/v1/patients/${ids.daily}/rpm/adherence`, {
      token: other,
    });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).not.toContain('adh-cuff');
    const list = await hub.client.request('GET', '/api/v1/rpm/programme', { token: other });
    expect((list.body as { patients: unknown[] }).patients).toEqual([]);
    const byAuditor = await hub.client.request('GET', '/api/v1/rpm/programme', { token: auditor });
    expect(byAuditor.status).toBe(403);
  });
});

describe('clinical report', () => {
  it('the glucose AGP equals percentiles computed here from the same readings', async () => {
    const res = await hub.client.request('GET', `/api/v1/patients/${ids.glucose}/rpm/report?days=14`, {
      token: nurse,
    });
    expect(res.status, res.text).toBe(200);
    const report = res.body as {
      glucose: { readings: number; agp: { hour: number; n: number; p5: number; p50: number; p95: number }[] };
      period: { days: number };
    };
    expect(report.period.days).toBe(14);
    expect(report.glucose.readings).toBe(sentGlucose.length);
    // Independently: group by the local hour (UTC+05:30), sort, and interpolate at rank (n-1)q.
    const byHour = new Map<number, number[]>();
    for (const { at, v } of sentGlucose) {
      const hour = new Date(at + 330 * 60_000).getUTCHours();
      byHour.set(hour, [...(byHour.get(hour) ?? []), v]);
    }
    const rank = (values: number[], q: number) => {
      const sorted = [...values].sort((a, b) => a - b);
      const pos = (sorted.length - 1) * q;
      const below = sorted[Math.floor(pos)]!;
      const above = sorted[Math.ceil(pos)]!;
      return Math.round((below + (above - below) * (pos - Math.floor(pos))) * 10) / 10;
    };
    const want = [...byHour.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([hour, values]) => ({
        hour,
        n: values.length,
        p5: rank(values, 0.05),
        p50: rank(values, 0.5),
        p95: rank(values, 0.95),
      }));
    // Both round to 0.1; a value on the half (x.x5) may round either way in floating point.
    expect(report.glucose.agp.map(({ hour, n }) => ({ hour, n }))).toEqual(
      want.map(({ hour, n }) => ({ hour, n })),
    );
    report.glucose.agp.forEach((got, i) => {
      for (const q of ['p5', 'p50', 'p95'] as const)
        expect(Math.abs(got[q] - want[i]![q])).toBeLessThanOrEqual(0.1 + 1e-9);
    });
    const bad = await hub.client.request('GET', `/api/v1/patients/${ids.glucose}/rpm/report?days=10`, {
      token: nurse,
    });
    expect(bad.status).toBe(400);
    const refused = await hub.client.request('GET', `/api/v1/patients/${ids.glucose}/rpm/report`, {
      token: other,
    });
    expect(refused.status).toBe(403);
  });
});

describe('the report as a PDF and filed to the chart', () => {
  it('the PDF opens: pdftotext finds the pseudonymous patient id and the period', async () => {
    const res = await hub.client.request('GET', `/api/v1/patients/${ids.glucose}/rpm/report/pdf?days=14`, {
      token: nurse,
    });
    expect(res.status, res.text.slice(0, 200)).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const dir = mkdtempSync(join(tmpdir(), 'vg-rpm-pdf-'));
    try {
      writeFileSync(join(dir, 'report.pdf'), res.raw);
      const text = execFileSync('pdftotext', ['-layout', join(dir, 'report.pdf'), '-'], { encoding: 'utf8' });
      expect(text).toContain(`Patient: ${ids.glucose}`);
      expect(text).toMatch(
        new RegExp(`Period: \\d{4}-\\d{2}-\\d{2} to ${new Date(now).toISOString().slice(0, 7)}`),
      );
      expect(text).toContain('14 days, Asia/Kolkata');
      expect(text).toContain(`${sentGlucose.length} readings`);
      expect(text).not.toContain('glucose patient'); // no demographics, only the id
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('filing gives a DocumentReference carrying the same PDF, sealed and audited', async () => {
    const res = await hub.client.request('POST', `/api/v1/patients/${ids.glucose}/rpm/report/file`, {
      token: nurse,
      body: { days: 30 },
    });
    expect(res.status, res.text.slice(0, 300)).toBe(201);
    const doc = res.body as {
      resourceType: string;
      subject: { reference: string };
      content: { attachment: { contentType: string; data: string; hash: string } }[];
    };
    expect(doc.resourceType).toBe('DocumentReference');
    const pdf = Buffer.from(doc.content[0]!.attachment.data, 'base64');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(doc.content[0]!.attachment.hash).toBe(createHash('sha1').update(pdf).digest('base64'));
    const filed = hub.pki.store.audit.list({ action: 'rpm.report.file', target: `patient:${ids.glucose}` });
    expect(filed).toHaveLength(1);
    // Kept sealed: the stored bytes are not the PDF.
    const row = hub.pki.store.db.prepare('SELECT sealed_pdf FROM rpm_filed_reports').get() as {
      sealed_pdf: Buffer;
    };
    expect(row.sealed_pdf.includes(Buffer.from('%PDF-'))).toBe(false);
    const refused = await hub.client.request('POST', `/api/v1/patients/${ids.glucose}/rpm/report/file`, {
      token: other,
      body: { days: 30 },
    });
    expect(refused.status).toBe(403);
    expect(hub.pki.store.db.prepare('SELECT count(*) AS n FROM rpm_filed_reports').get()).toEqual({ n: 1 });

    // In the chart: the patient's $everything (what the EHR push sends) holds the filed report.
    const everything = await hub.client.request(
      'GET',
      `/fhir/R4/Patient/${fhirPatientId(ids.glucose!)}/$everything?start=${new Date(now - 3_600_000).toISOString()}&end=${new Date(now).toISOString()}`,
      { token: nurse, headers: { accept: 'application/fhir+json' } },
    );
    expect(everything.status, everything.text.slice(0, 300)).toBe(200);
    const bundle = everything.body as { entry: { resource: Record<string, unknown> }[] };
    const validBundle = fhirValidator('Bundle');
    expect(validBundle(bundle), JSON.stringify(validBundle.errors)).toBe(true);
    const inChart = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'DocumentReference');
    expect(inChart).toHaveLength(1);
    const validDoc = fhirValidator('DocumentReference');
    expect(validDoc(inChart[0]), JSON.stringify(validDoc.errors)).toBe(true);
    expect(inChart[0]).toMatchObject({
      subject: doc.subject,
      content: [{ attachment: { hash: doc.content[0]!.attachment.hash } }],
    });
  });
});
