// The auditor's break-glass review and the admin's roles page, in a real Chromium against a
// real hub. A clinician takes break-glass access through the API; the auditor sees the grant
// with its reason, records a review with a note (audited as break_glass.review, which check
// VG-API-005 reads) and sees it reviewed. The admin sees each role with the API's permissions
// and its holders. Each of these pages shows in its own role's navigation only, and a
// hand-typed URL from another role is refused before anything is fetched. axe-core finds no
// serious or critical violation at 390×844 and 1440×900; no CSP violation; screenshots in
// console/screenshots. Sessions come from the API (the harness's `signIn`) as the cookie.
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../../core/domain.js';
import {
  PHONE,
  axeViolations,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  screenshot,
  startConsoleHub,
  stepUpSession,
  webStorage,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
const tokens: Partial<Record<Role, string>> = {};
const open: { context: BrowserContext; page: Page; watch: PageWatch }[] = [];
const REASON = 'patient collapsed in the corridor, no assigned clinician on the ward';
let grantId = 0;
let patientId = '';

/** A signed-in console for a role, recording every API request the page makes. */
async function consoleAs(role: Role): Promise<{ page: Page; watch: PageWatch; requests: string[] }> {
  const opened = await openConsole(browser, hub, PHONE, tokens[role]);
  open.push(opened);
  const requests: string[] = [];
  opened.page.on('request', (r: Request) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) requests.push(`${r.method()} ${url.pathname}`);
  });
  return { ...opened, requests };
}

function navLabels(page: Page): Promise<string[]> {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
}

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  let clinicianSecret = '';
  for (const role of ['engineer', 'auditor', 'admin', 'clinician'] as const) {
    const signed = await hub.signIn(`${role}.ov`, await hub.addUser(`${role}.ov`, role));
    tokens[role] = signed.token;
    if (role === 'clinician') clinicianSecret = signed.totpSecret;
  }
  const added = await fetchHub(hub, '/api/v1/patients', {
    method: 'POST',
    token: tokens.admin!,
    body: { name: 'Unassigned Patient', birthDate: '1941-05-06' },
  });
  expect(added.status, added.text).toBe(201);
  patientId = (JSON.parse(added.text) as { id: string }).id;
  await stepUpSession(hub, tokens.clinician!, clinicianSecret); // break-glass needs a step-up
  const grant = await fetchHub(hub, `/api/v1/patients/${patientId}/break-glass`, {
    method: 'POST',
    token: tokens.clinician!,
    body: { reason: REASON },
  });
  expect(grant.status, grant.text).toBe(201);
  grantId = (JSON.parse(grant.text) as { grantId: number }).grantId;
}, 120_000);

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail')
    for (const o of open)
      console.error(
        await o.page
          .locator('body')
          .innerText()
          .catch(() => ''),
      );
});

afterAll(async () => {
  for (const o of open) await o.context.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
});

describe('break-glass review (auditor)', () => {
  it('shows the grant with its reason, records a review with a note, and shows it reviewed', async () => {
    const { page, watch } = await consoleAs('auditor');
    await page.goto('/');
    await page.getByRole('link', { name: 'Break-glass' }).click();
    await page.getByRole('heading', { name: 'Break-glass grants' }).waitFor();
    const item = page.locator(`li[data-grant="${grantId}"]`);
    await item.getByText(REASON).waitFor();
    await item.getByText('not reviewed').waitFor();
    await item.getByText(`#${grantId} clinician.ov`).waitFor();
    await checkAtBothSizes(page, 'break-glass-review');

    // A note is needed: an empty one is refused here and nothing is recorded.
    await item.getByRole('button', { name: 'Record review' }).click();
    await item.getByText('Write what you checked, in a few words.').waitFor();
    expect(hub.pki.store.audit.list({ action: 'break_glass.review' })).toEqual([]);

    await item
      .getByLabel(`Review note for grant ${grantId} (what you checked)`)
      .fill('ward sister confirmed the collapse');
    await item.getByRole('button', { name: 'Record review' }).click();
    await page.getByText(`Your review of grant ${grantId} is recorded.`).waitFor();
    await item.getByText('reviewed', { exact: true }).waitFor();
    await item.getByText(/by auditor\.ov: ward sister confirmed the collapse$/).waitFor();
    expect(hub.pki.store.audit.list({ action: 'break_glass.review' })).toEqual([
      expect.objectContaining({
        actor: 'user:auditor.ov',
        target: `break-glass:${grantId}`,
        outcome: 'success',
        details: { note: 'ward sister confirmed the collapse', username: 'clinician.ov' },
      }),
    ]);
    await checkAtBothSizes(page, 'break-glass-reviewed');
    expect(await webStorage(page)).toEqual({ local: 0, session: 0, indexedDb: 0 });
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});

describe('roles (admin)', () => {
  it('lists each role with what it may do and who holds it', async () => {
    const { page, watch } = await consoleAs('admin');
    await page.goto('/');
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('heading', { name: 'Roles' }).waitFor();
    const clinician = page.locator('li[data-role="clinician"]');
    await clinician.getByText('clinician.ov').waitFor();
    await clinician.getByText('read assigned patients (and break-glass)').waitFor();
    expect(await clinician.getByText('manage staff accounts').count()).toBe(0);
    await page
      .locator('li[data-role="auditor"]')
      .getByText('read and verify the audit log, review break-glass')
      .waitFor();
    await checkAtBothSizes(page, 'roles');
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});

describe('each role sees its own pages only', () => {
  const cases: { role: Role; sees: string[]; refused: string[] }[] = [
    { role: 'auditor', sees: ['Break-glass'], refused: ['/roles'] },
    { role: 'admin', sees: ['Roles'], refused: ['/break-glass'] },
    { role: 'engineer', sees: [], refused: ['/roles', '/break-glass'] },
    { role: 'clinician', sees: [], refused: ['/roles', '/break-glass'] },
  ];
  for (const { role, sees, refused } of cases) {
    it(`${role}: navigation and hand-typed URLs`, async () => {
      const { page, watch, requests } = await consoleAs(role);
      await page.goto('/');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link').first().waitFor();
      const labels = await navLabels(page);
      for (const label of ['Break-glass', 'Roles'])
        expect(labels.includes(label), label).toBe(sees.includes(label));
      for (const path of refused) {
        await page.goto('about:blank');
        requests.length = 0;
        await page.goto(`/#${path}`);
        await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
        await page
          .getByText(`Your role (${role}) does not give access to this page. Nothing was opened.`)
          .waitFor();
        expect(
          requests.filter((r) => r !== 'GET /api/v1/auth/session'),
          path,
        ).toEqual([]);
        expect(await page.content()).not.toContain(REASON);
      }
      if (role === 'engineer') await checkAtBothSizes(page, 'refused-engineer');
      expect(watch.cspViolations).toEqual([]);
    });
  }
});

describe('verify chain after a retention prune (auditor)', () => {
  it('reports the pruned entries as policy, and the chain as intact', async () => {
    // The hub's retention job prunes with this same call; here it runs now, on the hub's file,
    // up to the clinician's break-glass entry.
    const glass = hub.pki.store.audit.list({ action: 'phi.break_glass' })[0]!;
    const pruned = hub.pki.store.audit.prune(glass.at);
    expect(pruned.entries).toBeGreaterThan(0);
    const { page, watch } = await consoleAs('auditor');
    await page.goto('/#/audit');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const result = page.getByText(/^The audit chain is intact: \d+ entries checked\./);
    await result.waitFor();
    expect(await result.innerText()).toContain(
      `${pruned.anchor!.throughSeq} older entries (#1 to #${pruned.anchor!.throughSeq}) were removed by the retention policy`,
    );
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'audit-verify-pruned-phone');
    expect(watch.cspViolations).toEqual([]);
  });
});
