// Staff devices in a real Chromium against `vitalgate start`: a clinician signs in on a phone
// (browser context B), sees it under My devices, and reads a patient. Their next PHI read from a
// network they never used (the hub trusts 127.0.0.1 as its reverse proxy, so the browser's
// X-Forwarded-For is the source address) asks for a step-up and serves nothing. Then an admin in
// a second context (A) marks the phone lost: the phone's next request is answered with
// Clear-Site-Data, it lands on "signed out remotely", and its cookies, localStorage and
// sessionStorage are gone. axe-core and screenshots at both sizes for each new page.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPatient } from '../../support/ingest.js';
import {
  PHONE,
  checkAtBothSizes,
  launchBrowser,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  totpNow,
  webStorage,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
let phone: { context: BrowserContext; page: Page; watch: PageWatch };
let current: Page | undefined;
let patient = '';
const NURSE = 'nurse.phone';
const NEW_NETWORK = '10.20.30.40';
/** The hospital site of the geofence, a point inside it, and one 5 km away. */
const WARD = { latitude: 52.36, longitude: 4.89 };
const INSIDE = { latitude: 52.3605, longitude: 4.8905, accuracy: 20 };
const OUTSIDE = { latitude: 52.405, longitude: 4.89, accuracy: 20 };

beforeAll(async () => {
  [hub, browser] = await Promise.all([
    startConsoleHub({
      VITALGATE_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
      VITALGATE_ADAPTIVE_ACCESS: 'clinician:step-up',
      VITALGATE_GEOFENCE: 'clinician:deny',
      VITALGATE_GEOFENCE_SITES: `ward@${WARD.latitude},${WARD.longitude},300`,
    }),
    launchBrowser(),
  ]);
  patient = addPatient(hub.pki, 'Mary Seacole');
  phone = await openConsole(browser, hub, PHONE);
  await phone.context.grantPermissions(['geolocation'], { origin: hub.baseUrl });
  await phone.context.setGeolocation(INSIDE);
  current = phone.page;
}, 90_000);

showPageOnFailure(() => current);

afterAll(async () => {
  await phone?.context.close();
  await browser?.close();
  await hub?.stop();
});

describe('staff devices in the console', () => {
  it('signs in on the phone, lists it under My devices, and reads a patient', async () => {
    const oneTimePassword = await hub.addUser(NURSE, 'clinician');
    hub.pki.store.patients.assign(patient, NURSE);
    const { page } = phone;
    await page.goto('/');
    await page.getByLabel('Username').fill(NURSE);
    await page.getByLabel('Password').fill(oneTimePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const password = 'night round on the cardiac ward';
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('New password again').fill(password);
    await page.getByRole('button', { name: 'Save password' }).click();
    const secret = await page.locator('#totp-secret').getAttribute('data-secret');
    await page.getByLabel('6-digit code').fill(totpNow(secret!));
    // The clinician's PHI needs the geofence's position: the first read is refused, the console
    // asks the browser for its location and draws the page again with it.
    const refused = page.waitForResponse((r) => r.url().includes('/api/v1/') && r.status() === 403);
    const withPosition = page.waitForRequest((r) => r.headers()['x-vitalgate-position'] !== undefined);
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    expect((await (await refused).json()).error.code).toBe('GEOFENCE_POSITION_REQUIRED');
    expect((await withPosition).headers()['x-vitalgate-position']).toBe('52.360500,4.890500,20');
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    const device = (await phone.context.cookies()).find((c) => c.name === 'vg_device');
    expect(device).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });

    await page.goto(`/#/my-devices`);
    await page.getByRole('heading', { name: 'My devices' }).waitFor();
    await page.getByText('This device').waitFor();
    await expect.poll(() => page.locator('.staff-device').count()).toBe(1);
    await checkAtBothSizes(page, 'my-devices');

    await page.goto(`/#/patients/${patient}`);
    await page.getByRole('heading', { name: 'Mary Seacole' }).waitFor();
  });

  it('refuses patient data while the phone reports a position outside the hospital site', async () => {
    const { page, context } = phone;
    await page.goto('/#/my-devices');
    await page.getByRole('heading', { name: 'My devices' }).waitFor();
    await context.setGeolocation(OUTSIDE);
    const refused = page.waitForResponse(
      (r) => r.url().includes(`/api/v1/patients/${patient}`) && r.status() === 403,
    );
    await page.goto(`/#/patients/${patient}`);
    const answer = await refused;
    expect((await answer.json()).error.code).toBe('GEOFENCE_OUTSIDE_SITES');
    expect(answer.request().headers()['x-vitalgate-position']).toBe('52.405000,4.890000,20');
    await page.getByText('cannot be opened outside the hospital sites').first().waitFor();
    expect(await page.getByRole('heading', { name: 'Mary Seacole' }).count()).toBe(0);
    await context.setGeolocation(INSIDE);
  });

  it('asks for a step-up when a PHI read comes from a network the nurse never used, and serves nothing', async () => {
    const { page, context } = phone;
    const before = hub.pki.store.audit.list({ limit: 1 })[0]!.seq;
    await context.setExtraHTTPHeaders({ 'x-forwarded-for': NEW_NETWORK });
    await page.goto('/#/my-devices');
    await page.getByRole('heading', { name: 'My devices' }).waitFor();
    const refusal = page.waitForResponse(
      (r) => r.url().includes(`/api/v1/patients/${patient}`) && r.status() === 401,
    );
    await page.goto(`/#/patients/${patient}`);
    const answer = await (await refusal).json();
    expect(answer).toMatchObject({
      error: { code: 'STEP_UP_REQUIRED', details: { reason: 'adaptive:new_network' } },
    });
    // The step-up dialog says why; cancelled, nothing opens.
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByText('from a network you have not used before').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByRole('heading', { name: 'Mary Seacole' }).count()).toBe(0);
    const since = hub.pki.store.audit.list({ afterSeq: before });
    expect(since.find((e) => e.action === 'access.adaptive')).toMatchObject({
      outcome: 'denied',
      source: NEW_NETWORK,
      details: { signals: ['new_network'], decision: 'step-up' },
    });
    expect(
      since.filter((e) => e.action === 'phi.read' && e.outcome === 'success' && e.source === NEW_NETWORK),
    ).toEqual([]);
    // Still signed in: a step-up is asked for, not a sign-out.
    expect((await context.cookies()).some((c) => c.name === 'vg_session')).toBe(true);
    await context.setExtraHTTPHeaders({});
  });

  it('is signed out on its next request once an admin marks it lost, and its cookies and web storage are gone', async () => {
    const { page, context } = phone;
    await page.goto('/#/my-devices');
    await page.getByRole('heading', { name: 'My devices' }).waitFor();
    await page.evaluate(() => {
      localStorage.setItem('draft', 'a note the console would never keep');
      sessionStorage.setItem('scroll', '42');
    });
    expect(await webStorage(page)).toMatchObject({ local: 1, session: 1 });

    // A second browser context: an admin marks the nurse's phone lost.
    const adminPassword = await hub.addUser('adm.devices', 'admin');
    const { token } = await hub.signIn('adm.devices', adminPassword);
    const admin = await openConsole(browser, hub, PHONE, token);
    current = admin.page;
    try {
      await admin.page.goto(`/#/staff-devices?user=${NURSE}`);
      await admin.page.getByRole('heading', { name: 'Staff devices' }).waitFor();
      await admin.page.getByRole('button', { name: 'Mark lost' }).click();
      await admin.page.getByLabel('Reason (recorded in the audit log)').fill('phone left in a taxi');
      await admin.page.getByRole('button', { name: 'Mark lost and sign it out' }).click();
      await admin.page.getByText('Marked lost').waitFor();
      await checkAtBothSizes(admin.page, 'staff-devices-admin');
      expect(admin.watch.cspViolations).toEqual([]);
    } finally {
      await admin.context.close();
      current = page;
    }
    expect(hub.pki.store.audit.list({ action: 'staff_device.lost', limit: 1 })[0]).toMatchObject({
      actor: 'user:adm.devices',
      details: { owner: NURSE, reason: 'phone left in a taxi', sessionsEnded: 1 },
    });

    // The phone's next request (opening a page) meets Clear-Site-Data and the remote sign-out.
    const wiped = page.waitForResponse((r) => r.status() === 401 && r.url().includes('/api/v1/'));
    await page.goto('/#/patients');
    const answer = await wiped;
    expect(await answer.headerValue('clear-site-data')).toBe('"cache", "cookies", "storage"');
    await page.getByRole('heading', { name: 'This device was signed out remotely' }).waitFor();
    expect(await context.cookies()).toEqual([]);
    expect(await webStorage(page)).toEqual({ local: 0, session: 0, indexedDb: 0 });
    expect(hub.pki.store.audit.list({ action: 'staff_device.wipe' })).toHaveLength(1);
    await checkAtBothSizes(page, 'signed-out-remotely');
    expect(phone.watch.cspViolations).toEqual([]);
    expect(phone.watch.pageErrors).toEqual([]);
  });
});
