// The Gateways page in a real Chromium against `vitalgate start`: an engineer binds a Bluetooth
// cuff to a home gateway through the form (the API then lists the binding, pinned, and the audit
// log holds it), a bind with a malformed Bluetooth address is refused in words and stores
// nothing, and an unbind after confirmation removes the binding. axe-core at phone and desktop
// sizes, no CSP violation.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PHONE,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  stepUpSession,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
let session: { context: BrowserContext; page: Page; watch: PageWatch };
let token = '';

async function api(method: string, path: string, body?: unknown) {
  const res = await fetchHub(hub, `/api/v1${path}`, { method, token, body });
  return { status: res.status, body: res.text ? (JSON.parse(res.text) as unknown) : undefined };
}

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  const otp = await hub.addUser('eng.gw', 'engineer');
  const signed = await hub.signIn('eng.gw', otp);
  token = signed.token;
  await stepUpSession(hub, token, signed.totpSecret);
  for (const device of [
    { id: 'gw-home', kind: 'gateway' },
    { id: 'gw-phone', kind: 'gateway' },
    { id: 'bp-home', kind: 'bp_monitor' },
  ])
    expect((await api('POST', '/devices', device)).status).toBe(201);
  session = await openConsole(browser, hub, PHONE, token);
}, 90_000);

showPageOnFailure(() => session?.page);

afterAll(async () => {
  await session?.context.close();
  await browser?.close();
  await hub?.stop();
});

describe('the gateways page', () => {
  it('binds a device to a gateway through the form: listed by the API, pinned and audited', async () => {
    const { page } = session;
    await page.goto('/#/gateways');
    await page.getByRole('heading', { name: 'Gateways' }).waitFor();
    await page.locator('section[data-gateway="gw-phone"]').waitFor();
    await page.getByLabel('Gateway').selectOption('gw-home');
    await page.getByLabel('Device id').fill('bp-home');
    await page.getByLabel('System id (optional)').fill('aa:bb:cc:dd:ee:01');
    await page.getByLabel('Serial (optional)').fill('CUFF-7');
    await page.getByRole('button', { name: 'Bind', exact: true }).click();
    await page.getByText('bp-home is bound to gw-home.').waitFor();
    const row = page.locator('section[data-gateway="gw-home"] tr[data-binding="bp-home"]');
    expect(await row.innerText()).toMatch(/AA:BB:CC:DD:EE:01[\s\S]*serial CUFF-7[\s\S]*eng\.gw/);

    expect((await api('GET', '/gateways/gw-home/devices')).body).toEqual([
      expect.objectContaining({
        deviceId: 'bp-home',
        systemId: 'AA:BB:CC:DD:EE:01',
        serial: 'CUFF-7',
        boundBy: 'user:eng.gw',
      }),
    ]);
    const audit = hub.pki.store.audit.list({ target: 'device:bp-home' });
    expect(audit.map((e) => [e.action, e.actor])).toContainEqual(['gateway.bind', 'user:eng.gw']);
    await checkAtBothSizes(page, 'gateways');
    expect(session.watch.cspViolations).toEqual([]);
    expect(session.watch.pageErrors).toEqual([]);
  });

  it('shows a refused bind in words and stores nothing', async () => {
    const { page } = session;
    const before = hub.pki.store.audit.list({ limit: 1 })[0]!.seq;
    await page.getByLabel('Gateway').selectOption('gw-phone');
    await page.getByLabel('Device id').fill('bp-home');
    await page.getByLabel('System id (optional)').fill('not-a-bluetooth-address');
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/gateways/gw-phone/devices'));
    await page.getByRole('button', { name: 'Bind', exact: true }).click();
    // bp-home is bound to gw-home: binding it elsewhere moves it, after a confirmation.
    await page.getByRole('dialog').getByRole('button', { name: 'Move' }).click();
    expect((await (await answer).json()).error.code).toBe('SYSTEM_ID_INVALID');
    await page.getByRole('dialog').getByText('Bluetooth address like AA:BB:CC:DD:EE:FF').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    expect((await api('GET', '/gateways/gw-phone/devices')).body).toEqual([]);
    expect((await api('GET', '/gateways/gw-home/devices')).body).toEqual([
      expect.objectContaining({ deviceId: 'bp-home', systemId: 'AA:BB:CC:DD:EE:01' }),
    ]);
    // The refusal itself is audited; no binding is.
    expect(
      hub.pki.store.audit.list({ afterSeq: before }).map((e) => [e.action, e.outcome, e.details]),
    ).toEqual([['api.request.rejected', 'denied', { code: 'SYSTEM_ID_INVALID' }]]);
  });

  it('unbinds a device after confirmation', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Unbind bp-home from gw-home' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Unbind' }).click();
    await page.getByText('bp-home is unbound from gw-home.').waitFor();
    await page.locator('tr[data-binding="bp-home"]').waitFor({ state: 'detached' });
    expect((await api('GET', '/gateways/bindings')).body).toEqual([]);
    const audit = hub.pki.store.audit.list({ target: 'device:bp-home' });
    expect(audit.map((e) => e.action)).toContain('gateway.unbind');
    expect(session.watch.cspViolations).toEqual([]);
  });
});
