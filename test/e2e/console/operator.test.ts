// Engineers, auditors and admins in the console, against a real hub with simulated devices:
// the devices page (filters, add a device with its enrolment token and QR code), a revoke with
// typed confirmation and reason whose MQTT session is gone within a second at the broker; the
// auditor's "verify chain" naming an entry edited in the SQLite file; an admin adding an account
// whose one-time password works, and assigning a patient. Every page is checked with axe-core
// at phone and desktop sizes, with no CSP violation.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Fleet } from '../../../simulators/fleet.js';
import {
  PHONE,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  screenshot,
  showPageOnFailure,
  startConsoleHub,
  stepUpSession,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
let fleet: Fleet;
const open: { context: BrowserContext; page: Page; watch: PageWatch }[] = [];
let current: Page | undefined;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  fleet = await hub.startFleet({ devices: 2, kinds: ['wearable', 'pulse_oximeter'], prefix: 'op' });
  await vi.waitFor(() => expect(fleet.devices.every((d) => d.status === 'online')).toBe(true), {
    timeout: 45_000,
    interval: 200,
  });
}, 120_000);

showPageOnFailure(() => current);

afterAll(async () => {
  for (const o of open) await o.context.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
});

async function signedIn(username: string, role: 'engineer' | 'auditor' | 'admin'): Promise<Page> {
  const otp = await hub.addUser(username, role);
  const { token, totpSecret } = await hub.signIn(username, otp);
  // Revoking devices and adding accounts need a fresh second factor (the step-up).
  await stepUpSession(hub, token, totpSecret);
  const session = await openConsole(browser, hub, PHONE, token);
  open.push(session);
  current = session.page;
  return session.page;
}

const checkPage = checkAtBothSizes;

describe('an engineer', () => {
  let page: Page;

  beforeAll(async () => {
    page = await signedIn('eng.ops', 'engineer');
  });

  it('sees the fleet with status, session and certificate expiry, and filters it', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    const row = page.locator('tr[data-device="op-wear-001"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/active[\s\S]*connected/);
    await page.getByLabel('Search (id, patient, model)').fill('op-ox');
    await page.locator('tr[data-device="op-wear-001"]').waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-device]').count()).toBe(1);
    await page.getByLabel('Search (id, patient, model)').fill('');
    await checkPage(page, 'devices');
  });

  it('adds a device and gets its enrolment token once, with a QR code', async () => {
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.getByLabel('Device id').fill('op-therm-new');
    await page.getByLabel('Kind').first().selectOption('thermometer');
    await page.getByRole('button', { name: 'Add and issue enrolment token' }).click();
    await page.getByRole('heading', { name: 'Enrolment token for op-therm-new' }).waitFor();
    await page.getByRole('img', { name: 'QR code to enrol op-therm-new' }).waitFor();
    const token = await page.locator('code.once').getAttribute('data-secret');
    expect(token).toBeTruthy();
    expect(hub.pki.store.devices.get('op-therm-new')).toMatchObject({
      kind: 'thermometer',
      status: 'pending',
    });
    await checkPage(page, 'device-token');
  });

  it('revokes a device with a typed confirmation and reason; its MQTT session is gone within a second', async () => {
    const device = fleet.devices.find((d) => d.deviceId === 'op-wear-001')!;
    const offline = new Promise<number>((resolve) => device.once('offline', () => resolve(Date.now())));
    await page.getByRole('button', { name: 'Revoke op-wear-001' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke op-wear-001' });
    await dialog.getByLabel('Type op-wear-001 to confirm').fill('op-wear-00');
    await dialog.getByLabel('Reason (recorded in the audit log)').fill('reported lost on ward 3');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByText('Type op-wear-001 exactly to confirm.').waitFor();
    expect(hub.pki.store.devices.get('op-wear-001')!.status).toBe('active');
    await screenshot(page, 'revoke-dialog-phone');
    await dialog.getByLabel('Type op-wear-001 to confirm').fill('op-wear-001');
    const clickedAt = Date.now();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Revoke: done for op-wear-001.').waitFor();
    const answeredAt = Date.now();
    // At the broker: the device's connection was closed, and the hub reports no live session.
    const goneAt = await offline;
    expect(goneAt - clickedAt).toBeLessThan(1000 + (answeredAt - clickedAt));
    expect(goneAt - answeredAt).toBeLessThan(1000);
    const devices = JSON.parse(
      (await fetchHub(hub, '/api/v1/devices', { token: await engineerToken() })).text,
    ) as {
      id: string;
      status: string;
      connected: boolean | null;
    }[];
    expect(devices.find((d) => d.id === 'op-wear-001')).toMatchObject({
      status: 'revoked',
      connected: false,
    });
    expect(await page.locator('tr[data-device="op-wear-001"] [data-status]').innerText()).toBe('revoked');
  });
});

let engToken = '';
async function engineerToken(): Promise<string> {
  if (!engToken) engToken = (await hub.signIn('eng.api', await hub.addUser('eng.api', 'engineer'))).token;
  return engToken;
}

describe('an auditor', () => {
  it('verifies the audit chain, and verify names an entry edited in the SQLite file', async () => {
    const page = await signedIn('aud.it', 'auditor');
    await page.goto('/');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.locator('tr[data-seq]').first().waitFor();
    await page.getByLabel('Action').fill('device.revoke');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('tr[data-seq]').count()).toBe(1);
    await page.getByLabel('Action').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/The audit chain is intact: \d+ entries checked\./).waitFor();
    await checkPage(page, 'audit');
    const victim = hub.pki.store.db
      .prepare("SELECT seq FROM audit_log WHERE action = 'device.revoke' ORDER BY seq DESC LIMIT 1")
      .get() as { seq: number };
    hub.pki.store.db
      .prepare('UPDATE audit_log SET details = \'{"reason":"nothing happened"}\' WHERE seq = ?')
      .run(victim.seq);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const broken = page.getByText(`The audit chain is broken at entry #${victim.seq}`);
    await broken.waitFor();
    await screenshot(page, 'audit-broken-phone');
  });

  it('sees security events and the deployment checks', async () => {
    const page = current!;
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { name: 'Security events' }).waitFor();
    await checkPage(page, 'security');
    await page.getByRole('link', { name: 'Checks' }).click();
    await page.getByRole('heading', { name: 'Deployment checks' }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.locator('li[data-check]').first().waitFor({ timeout: 30_000 });
    await checkPage(page, 'checks');
  }, 60_000);
});

describe('an admin', () => {
  it('adds an account whose one-time password works, and assigns a patient', async () => {
    const page = await signedIn('adm.in', 'admin');
    await page.goto('/');
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    await page.getByLabel('Username').fill('dr.added');
    await page.getByLabel('Role').selectOption('clinician');
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByRole('heading', { name: 'One-time password for dr.added' }).waitFor();
    const otp = await page.locator('code.once').getAttribute('data-secret');
    await checkPage(page, 'accounts');
    const { token } = await hub.signIn('dr.added', otp!);
    await page.getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('heading', { name: 'Patients' }).waitFor();
    const patientId = hub.pki.store.devices.get('op-ox-001')!.patientId!;
    const row = page.locator(`tr[data-patient="${patientId}"]`);
    await row.getByLabel(`Clinician to assign to ${patientId}`).selectOption('dr.added');
    await row.getByRole('button', { name: 'Assign' }).click();
    await row.getByRole('button', { name: `Unassign dr.added from ${patientId}` }).waitFor();
    expect(hub.pki.store.patients.assignedTo('dr.added')).toEqual([patientId]);
    const mine = JSON.parse((await fetchHub(hub, '/api/v1/me/patients', { token })).text) as {
      patients: { id: string }[];
    };
    expect(mine.patients.map((p) => p.id)).toEqual([patientId]);
    await checkPage(page, 'admin-patients');
    for (const o of open) expect(o.watch.cspViolations).toEqual([]);
  });
});
