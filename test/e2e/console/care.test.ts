// The care pages of the console in a real Chromium against a real hub (`vitalgate start` as a
// child process): a patient's alert thresholds (the clinical default shown, a bound-violating
// value refused with nothing stored, a valid one saved and audited), snooze and resolve with a
// reason on the alert queue (and an escalated alert shown as such), the rota with who is on call
// and the hand-off, and notifications (the service worker at /sw.js, a browser's subscription,
// the link a notification carries). axe-core at phone and desktop size on each page, no CSP
// violation.
//
// What is not real: alerts are raised in the hub's store by the test (the broker path is the
// API tests'), and the browser's push service cannot be reached from a test, so
// PushManager.subscribe is replaced in the page by one answering a subscription on a loopback
// address the hub is told to accept (the push itself is tested against a stand-in in
// test/integration/api/push.test.ts).
import { createECDH, randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertParameterRepository } from '../../../core/store/alert-settings.js';
import { CareTeamRepository } from '../../../core/store/care-teams.js';
import { EscalationRepository } from '../../../core/store/escalations.js';
import { PushRepository } from '../../../core/store/push.js';
import { CHROMIUM_ARGS } from '../../support/chromium.js';
import { addPatient } from '../../support/ingest.js';
import {
  PHONE,
  checkAtBothSizes,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

const CLINICIAN = 'dr.rota';
const COLLEAGUE = 'dr.grey';
const NAME = 'Florence Care';
const H = 3_600_000;
let hub: ConsoleHub;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let patientId: string;

beforeAll(async () => {
  [hub, browser] = await Promise.all([
    startConsoleHub({ VITALGATE_PUSH_SERVICE_HOSTS: '127.0.0.1' }),
    // Chromium registers no service worker from an origin whose certificate it does not trust,
    // and the hub's private CA cannot be put in its trust store: this browser ignores
    // certificate errors at launch, as the contexts of the other console tests do per page.
    chromium.launch({
      executablePath: process.env.VITALGATE_CHROMIUM ?? '/usr/bin/chromium',
      args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'],
    }),
  ]);
  patientId = addPatient(hub.pki, NAME);
  const otp = await hub.addUser(CLINICIAN, 'clinician');
  await hub.addUser(COLLEAGUE, 'clinician');
  hub.pki.store.patients.assign(patientId, CLINICIAN);
  const teams = new CareTeamRepository(hub.pki.store.db);
  teams.add({ id: 'ward-3', name: 'Ward 3', timeZone: 'Europe/Amsterdam' });
  teams.setMember('ward-3', CLINICIAN, 'lead');
  teams.setMember('ward-3', COLLEAGUE, 'clinician');
  teams.assignPatient(patientId, 'ward-3');
  teams.addShift({
    teamId: 'ward-3',
    username: CLINICIAN,
    startsAt: Date.now() - H,
    endsAt: Date.now() + 8 * H,
    createdBy: 'test',
  });
  const { token } = await hub.signIn(CLINICIAN, otp);
  ({ context, page, watch } = await openConsole(browser, hub, PHONE, token));
}, 120_000);

showPageOnFailure(() => page);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await hub?.stop();
});

const raise = () =>
  hub.pki.store.alerts.raise({ patientId, deviceId: 'ox-care', rule: 'spo2_low', severity: 'critical' });

describe('care pages', () => {
  it('thresholds: the clinical default is shown, a value out of bounds is refused and nothing stored, a valid one is saved', async () => {
    await page.goto(`/#/patients/${patientId}`);
    await page.getByRole('link', { name: 'Alert thresholds' }).click();
    await page.getByRole('heading', { name: 'Alert thresholds' }).waitFor();
    const spo2 = page.locator('form[data-rule="spo2_low"]');
    await expect.poll(() => spo2.getByText('Clinical default: 90').count()).toBe(1);
    await checkAtBothSizes(page, 'alert-settings');

    await spo2.getByLabel('Alert at (%)').fill('120');
    await spo2.getByRole('button', { name: 'Save' }).click();
    await spo2.getByText(/Alert at was not accepted\. It must be from 50 to 100 %/).waitFor();
    expect(
      new AlertParameterRepository(hub.pki.store.db).forPatient(patientId).get('spo2_low'),
    ).toBeUndefined();

    await spo2.getByLabel('Alert at (%)').fill('92');
    await spo2.getByLabel('Clear at (%)').fill('95');
    await spo2.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Low SpO₂ saved: Alert at 90 → 92/).waitFor();
    const own = new AlertParameterRepository(hub.pki.store.db).forPatient(patientId).get('spo2_low');
    expect(own?.get('threshold')).toBe(92);
    expect(hub.pki.store.audit.list({ action: 'alert_settings.change' })).toHaveLength(1);
    await spo2.getByText('Set for this patient.').first().waitFor();
    expect(watch.cspViolations).toEqual([]);
  });

  it('snooze and resolve on the alert queue, each with a reason', async () => {
    const first = raise();
    // Its ladder has reached the on-call clinician (as the hub's escalation records it).
    const steps = new EscalationRepository(hub.pki.store.db);
    steps.schedule(first.id, [{ step: 1, target: 'role:on_call', dueAt: Date.now() }]);
    steps.fire(steps.forAlert(first.id)[0]!.id, Date.now(), [CLINICIAN]);
    await page.goto('/#/alerts');
    const item = page.locator(`li[data-alert="${first.id}"]`);
    await item.getByText('Escalated to on call').waitFor();
    await item.getByText('Snooze or resolve').click();
    await item.getByRole('button', { name: 'Snooze' }).click();
    await item.getByText('Please give a reason').waitFor();
    await item.getByLabel('Snooze for').selectOption('60');
    await item.getByLabel('Reason for snoozing').fill('probe repositioned, watching');
    await checkAtBothSizes(page, 'alert-actions');
    await item.getByRole('button', { name: 'Snooze' }).click();
    await page.getByText(`Snoozed: Low SpO₂ of ${NAME}.`).waitFor();
    const snoozed = hub.pki.store.db
      .prepare('SELECT snoozed_until FROM alerts WHERE id = ?')
      .get(first.id) as { snoozed_until: number };
    expect(snoozed.snoozed_until - Date.now()).toBeGreaterThan(55 * 60_000);

    const again = page.locator(`li[data-alert="${first.id}"]`);
    await again.getByText('Snooze or resolve').click();
    await again.getByLabel('Reason for resolving').fill('treated, readings back to normal');
    await again.getByRole('button', { name: 'Resolve' }).click();
    await page.getByText(`Resolved: Low SpO₂ of ${NAME}.`).waitFor();
    expect(hub.pki.store.alerts.get(first.id)).toMatchObject({ status: 'cleared' });
    expect(watch.cspViolations).toEqual([]);
  });

  it('the rota: who is on call now, and the hand-off', async () => {
    await page.goto('/#/care-team');
    await page.getByRole('heading', { name: 'Ward 3' }).waitFor();
    await page.getByText(`On call now: ${CLINICIAN}`).waitFor();
    await checkAtBothSizes(page, 'care-team');
    const until = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Amsterdam',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(Date.now() + 3 * H);
    await page.getByLabel('Hand over to').selectOption(COLLEAGUE);
    await page.getByLabel('Until').fill(until);
    await page.getByRole('button', { name: 'Hand over' }).click();
    await page.getByText(new RegExp(`^${COLLEAGUE} is on call until`)).waitFor();
    await page.getByText(`On call now: ${COLLEAGUE}`).waitFor();
    expect(hub.pki.store.audit.list({ action: 'rota.hand_off' })).toHaveLength(1);
    expect(watch.cspViolations).toEqual([]);
  });

  it('notifications: the service worker registers same-origin, the browser’s subscription is stored and removed; a notification’s link opens the patient', async () => {
    // The browser's push service cannot be reached here: subscribe() answers a subscription on a
    // loopback endpoint (allowed by VITALGATE_PUSH_SERVICE_HOSTS in this hub) with real keys.
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const fake = {
      endpoint: `https://127.0.0.1:9/push/${randomBytes(8).toString('hex')}`,
      expirationTime: null,
      keys: {
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: randomBytes(16).toString('base64url'),
      },
    };
    await context.grantPermissions(['notifications'], { origin: hub.baseUrl });
    await page.goto('/#/notifications');
    await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    await page.evaluate((sub) => {
      PushManager.prototype.subscribe = async () => ({ toJSON: () => sub }) as unknown as PushSubscription;
      PushManager.prototype.getSubscription = async () => null;
    }, fake);
    await page.getByRole('button', { name: 'Allow notifications on this browser' }).click();
    await page.getByText('This browser now receives your notifications.').waitFor();
    const registered = await page.evaluate(
      async () => (await navigator.serviceWorker.getRegistration('/'))?.active?.scriptURL,
    );
    expect(registered).toBe(`${hub.baseUrl}/sw.js`);
    const subs = new PushRepository(hub.pki.store.db).subscriptionsOf(CLINICIAN);
    expect(subs).toEqual([
      expect.objectContaining({ endpoint: fake.endpoint, label: expect.stringMatching(/ on /) }),
    ]);
    await page.locator('td[data-label="Browser"]', { hasText: subs[0]!.label }).waitFor();
    await checkAtBothSizes(page, 'notifications');
    await page.getByRole('button', { name: `Stop notifications to ${subs[0]!.label}` }).click();
    await page.getByText('no longer receives notifications').waitFor();
    expect(new PushRepository(hub.pki.store.db).subscriptionsOf(CLINICIAN)).toEqual([]);

    // A notification's opaque link, after sign-in, opens the patient of its alert.
    const alert = raise();
    const repo = new PushRepository(hub.pki.store.db);
    const sub = repo.subscribe({
      ...fake.keys,
      endpoint: fake.endpoint,
      username: CLINICIAN,
      label: 'x',
      vapidKeyId: 1,
    });
    const token = randomBytes(16).toString('base64url');
    repo.addDelivery({
      token,
      subscriptionId: sub.id,
      username: CLINICIAN,
      alertId: alert.id,
      severity: 'critical',
      reason: 'escalation',
    });
    await page.goto(`/#/notifications/${token}`);
    await page.getByRole('heading', { name: NAME }).waitFor();
    expect(page.url()).toContain(`#/patients/${patientId}`);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
