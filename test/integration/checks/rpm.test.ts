// VG-RPM-001…004 on a test hub's real store, each broken and mended: an enrolment without
// consent, without a billing practitioner (or with one no longer active), a past month left
// unclosed, and no set-up date.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rpmBillingPractitioner,
  rpmConsentRecorded,
  rpmMonthsClosed,
  rpmSetupRecorded,
} from '../../../hub/checks/rpm.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';

let pki: TestPki;
let patient: string;
// 10 March 2026, noon UTC (the site is in UTC by default).
const NOW = Date.parse('2026-03-10T12:00:00Z');
const run = async (check: typeof rpmConsentRecorded, now = NOW) => check.run(checkContext(pki, { now }));

beforeAll(async () => {
  pki = await createTestPki();
  patient = addPatient(pki, 'Check Patient');
});
afterAll(() => pki.cleanup());

const enrol = (over: Partial<Parameters<typeof pki.store.rpmEnrolments.put>[0]> = {}) =>
  pki.store.rpmEnrolments.put({
    patientId: patient,
    monitoringStart: '2026-01-05',
    endedOn: null,
    consentAt: null,
    consentBy: null,
    consentMethod: null,
    setupDate: null,
    enrolledBy: 'user:admin',
    enrolledAt: NOW,
    ...over,
  });

describe('RPM checks', () => {
  it('are not applicable before anyone is enrolled', async () => {
    for (const check of [rpmConsentRecorded, rpmBillingPractitioner, rpmMonthsClosed, rpmSetupRecorded])
      expect((await run(check)).status).toBe('not_applicable');
  });

  it('VG-RPM-001: an enrolment without consent fails; recorded, it passes', async () => {
    enrol();
    expect(await run(rpmConsentRecorded)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(patient),
    });
    enrol({ consentAt: NOW, consentBy: 'user:rn.a', consentMethod: 'verbal' });
    expect((await run(rpmConsentRecorded)).status).toBe('pass');
  });

  it('VG-RPM-002: no practitioner this month fails, a disabled one fails, an active clinician passes', async () => {
    expect(await run(rpmBillingPractitioner)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('no billing practitioner for 2026-03'),
    });
    pki.store.users.add({
      username: 'dr.check',
      role: 'clinician',
      passwordHash: 'x',
      mustChangePassword: false,
    });
    pki.store.rpmEnrolments.setPractitioner(patient, {
      fromMonth: '2026-01',
      practitioner: 'dr.check',
      setBy: 't',
      setAt: NOW,
    });
    expect((await run(rpmBillingPractitioner)).status).toBe('pass');
    pki.store.users.update('dr.check', { disabledAt: NOW });
    expect(await run(rpmBillingPractitioner)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('no longer an active clinician'),
    });
  });

  it('VG-RPM-003: months over a week ago and not closed fail; closed, it passes', async () => {
    // January and February are over; February ended 9 days before NOW.
    expect(await run(rpmMonthsClosed)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('2026-01, 2026-02'),
    });
    // Within the week after a month ends, it is not yet due.
    expect(await run(rpmMonthsClosed, Date.parse('2026-03-05T12:00:00Z'))).toMatchObject({
      evidence: expect.not.stringContaining('2026-02'),
    });
    pki.store.rpmStatements.closeMonth('2026-01', [], 'user:admin', NOW);
    pki.store.rpmStatements.closeMonth('2026-02', [], 'user:admin', NOW);
    expect((await run(rpmMonthsClosed)).status).toBe('pass');
  });

  it('VG-RPM-004: no set-up date warns; recorded, it passes', async () => {
    expect((await run(rpmSetupRecorded)).status).toBe('warn');
    enrol({ consentAt: NOW, consentBy: 'user:rn.a', consentMethod: 'verbal', setupDate: '2026-01-05' });
    expect((await run(rpmSetupRecorded)).status).toBe('pass');
  });
});
