// The RPM pages of the console in a real Chromium against a real hub (`vitalgate start` as a
// child process): the programme view lists the enrolled patient with their days of data and
// filters by days; the patient's remote-monitoring page proposes treatment time and counts it
// only once confirmed; printing keeps the report only. axe-core at phone and desktop size on
// both pages, no CSP violation.
//
// What is not real: the days of data are rollup points the test writes into the hub's InfluxDB
// (as ingest writes them, under the patient's pseudonym) rather than a fleet publishing over
// days; the ledger and adherence tests send real readings through the ingest.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymFor } from '../../../ingest/sealing.js';
import { addPatient } from '../../support/ingest.js';
import {
  PHONE,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

const CLINICIAN = 'rn.rpm';
const NAME = 'Rosa Remote';
const DAY = 86_400_000;
let hub: ConsoleHub;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let patientId: string;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  patientId = addPatient(hub.pki, NAME);
  const otp = await hub.addUser(CLINICIAN, 'clinician');
  hub.pki.store.patients.assign(patientId, CLINICIAN);
  hub.pki.store.devices.add({ id: 'rpm-cuff-1', kind: 'bp_monitor', patientId });
  const { token } = await hub.signIn(CLINICIAN, otp);
  const enrol = await fetchHub(hub, `/api/v1/patients/${patientId}/rpm/enrolment`, {
    method: 'PUT',
    token,
    body: { monitoringStart: new Date(Date.now() - 10 * DAY).toISOString().slice(0, 10), consent: 'written' },
  });
  expect(enrol.status, enrol.text).toBe(200);
  // Three days of a cuff's minutes, the newest two days ago.
  const s = pseudonymFor(hub.pki.keyring, patientId);
  const minute = (at: number) => Math.floor(at / 60_000) * 60_000;
  await hub.influx.writeLines(
    [2, 3, 5].map((d) => `telemetry_minutes,d=rpm-cuff-1,s=${s} o=1i ${minute(Date.now() - d * DAY)}`),
  );
  ({ context, page, watch } = await openConsole(browser, hub, PHONE, token));
}, 120_000);

showPageOnFailure(() => page);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await hub?.stop();
});

describe('RPM pages', () => {
  it('the programme view lists the patient with their days of data and filters by days', async () => {
    await page.goto('/#/rpm');
    await page.getByRole('heading', { name: 'RPM programme' }).waitFor();
    const row = page.locator(`tr[data-patient="${patientId}"]`);
    await row.getByRole('link', { name: NAME }).waitFor();
    await expect.poll(() => row.locator('td[data-label="Days (30)"]').innerText()).toBe('3');
    await row.getByText('rpm-cuff-1').waitFor(); // its cuff is behind its daily cadence
    await checkAtBothSizes(page, 'rpm-programme');
    await page.getByLabel('Days of data').selectOption('16-30');
    await page.getByText('No enrolled patient matches this filter.').waitFor();
    await page.getByLabel('Days of data').selectOption('0-5');
    await page.locator(`tr[data-patient="${patientId}"]`).waitFor();
    expect(watch.cspViolations).toEqual([]);
  });

  it('time is proposed from the patient view and counted only once confirmed; printing keeps the report', async () => {
    await page.locator(`tr[data-patient="${patientId}"]`).getByRole('link', { name: NAME }).click();
    await page.getByRole('heading', { name: `Remote monitoring · ${NAME}` }).waitFor();
    await page.getByText('3 of the last 30 days with readings').waitFor();
    await page.getByLabel('Minutes').fill('12');
    await page.getByLabel('What was done').selectOption('patient_call');
    await page.getByLabel('Included a live call or video with the patient or caregiver').check();
    await page.getByRole('button', { name: 'Save time' }).click();
    await page.getByText('Saved 12 minutes as a proposal').waitFor();
    await page.getByText('0 confirmed minutes in').waitFor();
    const proposed = hub.pki.store.db.prepare('SELECT state FROM rpm_time_entries').all();
    expect(proposed).toEqual([{ state: 'proposed' }]);
    await checkAtBothSizes(page, 'rpm-patient');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('12 confirmed minutes in').waitFor();
    expect(
      hub.pki.store.db.prepare('SELECT state, minutes, interactive FROM rpm_time_entries').all(),
    ).toEqual([{ state: 'confirmed', minutes: 12, interactive: 1 }]);
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByRole('heading', { name: 'Report' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { name: 'Treatment time' }).isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Download PDF' }).isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
