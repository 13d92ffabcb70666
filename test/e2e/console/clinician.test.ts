// A clinician's day in the console, in a real Chromium against a real hub with a simulated fleet
// (three patients: tachycardia, desaturation, bradycardia). First sign-in through TOTP
// enrolment; My patients with live values and only the assigned patients; a hand-typed URL of
// another patient refused with no data; break-glass with a reason and its banner; an alert
// acknowledged with a note, as the API then shows; no CSP violation, no serious accessibility
// problem at phone and desktop sizes, nothing left in web storage; sign-out ends the session.
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PatientRegistry } from '../../../core/patient-registry.js';
import {
  PHONE,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  totpNext,
  totpNow,
  webStorage,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
const patients: { tachy: string; desat: string; brady: string } = { tachy: '', desat: '', brady: '' };
const names = new Map<string, string>();
const CLINICIAN = 'dr.console';
let oneTimePassword = '';
let token = '';
/** The clinician's TOTP secret, for the step-up break-glass asks for. */
let totpSecret = '';

/** The patient whose open alert has this rule (the fleet's scenarios raise them). */
function patientWithAlert(rule: string): string | undefined {
  return hub.pki.store.alerts.list({ limit: 1000 }).find((a) => a.rule === rule)?.patientId ?? undefined;
}

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  await hub.startFleet({
    devices: 9,
    kinds: ['wearable', 'pulse_oximeter', 'bp_monitor'],
    prefix: 'cc',
    scenario: 'mix',
    rateHz: 1,
  });
  // Tachycardia and bradycardia alert at the first alarming reading; desaturation is the other.
  await vi.waitFor(
    () => {
      expect(patientWithAlert('heart_rate_high')).toBeTruthy();
      expect(patientWithAlert('heart_rate_low')).toBeTruthy();
    },
    { timeout: 45_000, interval: 250 },
  );
  patients.tachy = patientWithAlert('heart_rate_high')!;
  patients.brady = patientWithAlert('heart_rate_low')!;
  patients.desat = hub.pki.store.patients
    .list()
    .map((p) => p.id)
    .find((id) => id !== patients.tachy && id !== patients.brady)!;
  const registry = new PatientRegistry(hub.pki.store.patients, hub.pki.keyring, hub.pki.store.audit);
  for (const id of Object.values(patients)) names.set(id, registry.get(id).name);
  oneTimePassword = await hub.addUser(CLINICIAN, 'clinician');
  hub.pki.store.patients.assign(patients.tachy, CLINICIAN);
  hub.pki.store.patients.assign(patients.desat, CLINICIAN);
  ({ context, page, watch } = await openConsole(browser, hub, PHONE));
}, 120_000);

showPageOnFailure(() => page);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await hub?.stop();
});

const checkPage = (name: string) => checkAtBothSizes(page, name);

describe('a clinician in the console', () => {
  it('signs in for the first time: new password, TOTP enrolment from the shown secret, My patients', async () => {
    await page.goto('/');
    await page.getByLabel('Username').fill(CLINICIAN);
    await page.getByLabel('Password').fill(oneTimePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose your own password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('use at least 12 characters').waitFor();
    // The API refuses a password with the username in it; the console starts the sign-in again.
    await page.getByLabel('New password', { exact: true }).fill(`${CLINICIAN} night shift`);
    await page.getByLabel('New password again').fill(`${CLINICIAN} night shift`);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('That password is too easy to guess.').waitFor();
    await page.getByLabel('Username').fill(CLINICIAN);
    await page.getByLabel('Password').fill(oneTimePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const password = 'evening round on ward seven';
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('New password again').fill(password);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator' }).waitFor();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = await page.locator('#totp-secret').getAttribute('data-secret');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await checkPage('enrol-totp');
    await page.getByLabel('6-digit code').fill('000000');
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByText('That code is not right.').waitFor();
    await page.getByLabel('6-digit code').fill(totpNow(secret!));
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    expect(page.url()).toMatch(/#\/patients$/);
    const cookie = (await context.cookies()).find((c) => c.name === 'vg_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    token = cookie!.value;
    totpSecret = secret!;
    // The secret is not on the page any more, and nothing was written to web storage.
    expect(await page.content()).not.toContain(secret);
    expect(await webStorage(page)).toEqual({ local: 0, session: 0, indexedDb: 0 });
  });

  it('sees the assigned patients, attention first, with values, and not the other patient', async () => {
    const tiles = page.locator('li.tile');
    await vi.waitFor(async () => expect(await tiles.count()).toBe(2), { timeout: 20_000, interval: 250 });
    // Tachycardia has an open alert, so it comes first.
    await expect
      .poll(() => tiles.first().getAttribute('data-patient'), { timeout: 20_000 })
      .toBe(patients.tachy);
    await page.locator(`li.tile[data-patient="${patients.tachy}"] .vital[data-type="heart_rate"]`).waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toContain(names.get(patients.tachy));
    expect(text).toContain(names.get(patients.desat));
    expect(text).not.toContain(names.get(patients.brady));
    expect(text).toContain('High heart rate');
    await checkPage('my-patients');
  });

  it('opens a patient with live values, charts for each range, thresholds and devices', async () => {
    await page.locator(`li.tile[data-patient="${patients.tachy}"] h2 a`).click();
    await page.getByRole('heading', { name: names.get(patients.tachy) }).waitFor();
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    const hr = page.locator('dl[aria-label="Latest values"] .vital[data-type="heart_rate"] .value');
    await hr.waitFor();
    // A new reading arrives over the stream and replaces the value's time.
    const age = page.locator('dl[aria-label="Latest values"] .vital[data-type="heart_rate"]');
    const before = await age.getAttribute('data-ts');
    await expect.poll(() => age.getAttribute('data-ts'), { timeout: 15_000 }).not.toBe(before);
    await page
      .locator('.charts[data-loaded="24h"] figure.chart[data-type="heart_rate"] canvas')
      .first()
      .waitFor();
    for (const range of ['6h', '7d', '30d']) {
      await page.locator(`button[data-range="${range}"]`).click();
      await page.locator(`.charts[data-loaded="${range}"] figure.chart[data-type="heart_rate"]`).waitFor();
    }
    expect(await page.locator('figure.chart[data-type="heart_rate"] figcaption').innerText()).toContain(
      'alert above 130',
    );
    expect(await page.locator('table').innerText()).toMatch(/cc-wear-/);
    await checkPage('patient');
  });

  it('refuses a hand-typed URL of an unassigned patient, with no data', async () => {
    const phi: Response[] = [];
    const onResponse = (r: Response) => {
      if (r.url().includes(patients.brady)) phi.push(r);
    };
    page.on('response', onResponse);
    await page.goto('about:blank');
    await page.goto(`/#/patients/${patients.brady}`);
    await page.getByRole('heading', { name: 'Not your patient' }).waitFor();
    page.off('response', onResponse);
    const text = await page.locator('body').innerText();
    expect(text).not.toContain(names.get(patients.brady));
    expect(await page.locator('.vital').count()).toBe(0);
    expect(phi.length).toBeGreaterThan(0);
    expect(phi.map((r) => r.status()).filter((s) => s !== 403)).toEqual([]);
    await checkPage('refused');
  });

  it('gets break-glass access with a reason and shows the banner with the time left', async () => {
    await page.getByRole('button', { name: 'Emergency access…' }).click();
    await page.getByLabel('Why do you need this patient now?').fill('short');
    await page.getByRole('button', { name: 'Open with emergency access' }).click();
    await page.getByText('at least 10 characters', { exact: false }).first().waitFor();
    await page
      .getByLabel('Why do you need this patient now?')
      .fill('covering the night shift, patient deteriorating');
    // Break-glass needs a fresh second factor: the step-up dialog opens. Cancelled, nothing is granted.
    await page.getByRole('button', { name: 'Open with emergency access' }).click();
    const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
    await stepUp.waitFor();
    expect(await stepUp.innerText()).toContain('Emergency access to a patient who is not assigned to you');
    await stepUp.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Confirm it is you before this', { exact: false }).waitFor();
    expect(hub.pki.store.audit.list({ action: 'auth.step_up.required', limit: 1 })[0]).toMatchObject({
      actor: `user:${CLINICIAN}`,
      outcome: 'denied',
      details: { reason: 'break_glass' },
    });
    expect(hub.pki.store.db.prepare('SELECT count(*) AS n FROM break_glass_grants').get()).toEqual({ n: 0 });
    const refused = await fetchHub(hub, `/api/v1/me/patients/${patients.brady}`, { cookie: token });
    expect(refused.status).toBe(403);
    // With a fresh code from the authenticator app, the same request goes through.
    await page.getByRole('button', { name: 'Open with emergency access' }).click();
    await stepUp.waitFor();
    await stepUp.getByLabel('6-digit code').fill(totpNext(totpSecret));
    await stepUp.getByRole('button', { name: 'Confirm with code' }).click();
    await page.getByRole('heading', { name: names.get(patients.brady) }).waitFor();
    const banner = page.locator('.banner');
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/Emergency access to [\s\S]*\d+ min left/);
    const api = await fetchHub(hub, `/api/v1/me/patients/${patients.brady}`, { cookie: token });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text)).toMatchObject({ access: 'break_glass' });
    await checkPage('break-glass');
  });

  it('acknowledges an alert with a note, and the API shows it acknowledged', async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Open alerts' }).waitFor();
    // The tachycardia patient's open alert, as the queue shows it.
    const item = page.locator(`li[data-alert]:has(a[href*="${patients.tachy}"])`).first();
    await item.waitFor();
    const alertId = Number(await item.getAttribute('data-alert'));
    await checkPage('alerts');
    const form = page.locator(`form[data-alert="${alertId}"]`);
    await form.getByLabel('Note (optional)').fill('Called the patient; resting, will recheck in 10 min.');
    await form.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText(/^Acknowledged: High heart rate of /).waitFor();
    const res = await fetchHub(hub, `/api/v1/alerts?status=acknowledged&patientId=${patients.tachy}`, {
      cookie: token,
    });
    const acked = (JSON.parse(res.text) as { id: number; ackedBy: string; note: string }[]).find(
      (a) => a.id === alertId,
    );
    expect(acked).toMatchObject({
      ackedBy: CLINICIAN,
      note: 'Called the patient; resting, will recheck in 10 min.',
    });
  });

  it('reported no CSP violation and left nothing in web storage; sign-out ends the session', async () => {
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(await webStorage(page)).toEqual({ local: 0, session: 0, indexedDb: 0 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    expect((await fetchHub(hub, '/api/v1/auth/session', { cookie: token })).status).toBe(401);
    expect(await webStorage(page)).toEqual({ local: 0, session: 0, indexedDb: 0 });
    expect(await page.locator('body').innerText()).not.toContain(names.get(patients.tachy));
  });
});
