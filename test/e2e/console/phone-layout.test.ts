// Every console page on a phone (390×844) and a desktop (1280×800), in a real Chromium against a
// real hub with a simulated fleet: each role's pages (as its navigation lists them, so pages added
// later are covered too), a patient's view and the sign-in page. On a phone, nothing is wider than
// the screen (the page does not scroll sideways, and no table or box hides columns in a sideways
// scroller: tables become one card per row, every cell under its column's name), and buttons,
// fields and navigation links are at least 44 px tall. axe-core finds no serious or critical
// violation at either size; no CSP violation. Screenshots of each page at both sizes go to
// console/screenshots (git-ignored), named layout-<role>-<page>-<size>.png.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Role } from '../../../core/domain.js';
import {
  PHONE,
  axeViolations,
  fetchHub,
  launchBrowser,
  openConsole,
  screenshot,
  showPageOnFailure,
  startConsoleHub,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

const LAPTOP = { width: 1280, height: 800 } as const;
const ROLES = ['clinician', 'engineer', 'auditor', 'admin'] as const;

let hub: ConsoleHub;
let browser: Browser;
let patientId = '';
const tokens: Partial<Record<Role, string>> = {};
const opened: { context: BrowserContext; page: Page; watch: PageWatch }[] = [];
let current: Page | undefined;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  await hub.startFleet({ devices: 3, kinds: ['wearable', 'pulse_oximeter', 'bp_monitor'], prefix: 'pl' });
  await vi.waitFor(() => expect(hub.pki.store.patients.list().length).toBeGreaterThan(0), {
    timeout: 30_000,
    interval: 250,
  });
  patientId = hub.pki.store.patients.list()[0]!.id;
  for (const role of ROLES)
    tokens[role] = (await hub.signIn(`${role}.pl`, await hub.addUser(`${role}.pl`, role))).token;
  hub.pki.store.patients.assign(patientId, 'clinician.pl');
  // A check report, so the checks page shows its table.
  const run = await fetchHub(hub, '/api/v1/checks/run', { method: 'POST', token: tokens.auditor! });
  expect(run.status, run.text).toBe(200);
}, 120_000);

showPageOnFailure(() => current);

afterAll(async () => {
  for (const o of opened) await o.context.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
});

/** A console for a role, or signed out. */
async function consoleAs(role: Role | null) {
  const o = await openConsole(browser, hub, PHONE, role ? tokens[role] : undefined);
  opened.push(o);
  current = o.page;
  return o;
}

/** Opens a page of the console afresh and waits until it has drawn what it fetched. */
async function show(page: Page, path: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`/#${path}`);
  // The console marks <main> aria-busy while a page renders, false once it has drawn its data.
  await page
    .locator('main[aria-busy="false"]')
    .waitFor()
    .catch(async (err: unknown) => {
      // Say what the page showed instead (an open dialog, an error), not only that it timed out.
      const shown = await page.evaluate(() => ({
        dialogs: Array.from(document.querySelectorAll('dialog[open]')).map((d) => d.textContent?.trim()),
        main: document.querySelector('main')?.textContent?.trim().slice(0, 300),
      }));
      throw new Error(`${path} did not finish drawing: ${JSON.stringify(shown)}`, { cause: err });
    });
  await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
}

/** What a nurse on a phone would trip over on the page as it is now. */
function phoneProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const width = window.innerWidth;
    const root = document.scrollingElement!;
    if (root.scrollWidth > width) problems.push(`the page scrolls sideways (${root.scrollWidth} > ${width})`);
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
    // Visually hidden (for screen readers): a box of at most 1 px that clips what is in it.
    const hidden = (el: Element | null): boolean => {
      for (; el; el = el.parentElement) {
        const box = el.getBoundingClientRect();
        if (box.width <= 1 && box.height <= 1 && getComputedStyle(el).overflow === 'hidden') return true;
      }
      return false;
    };
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('body *'))) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || hidden(el)) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      // Content hidden in a sideways scroller (a table cut off at the screen's edge).
      if (
        (style.overflowX === 'auto' || style.overflowX === 'scroll' || style.overflowX === 'hidden') &&
        el.scrollWidth > el.clientWidth + 1 &&
        !el.closest('.plot, .ecg')
      )
        problems.push(`${name(el)} hides ${el.scrollWidth - el.clientWidth}px sideways`);
      if (box.right > width + 1 && !el.closest('.plot, .ecg'))
        problems.push(`${name(el)} ends ${Math.round(box.right - width)}px past the screen`);
      // Its own text running past the screen (a long word that does not wrap).
      const ownText = Array.from(el.childNodes).some(
        (n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim(),
      );
      if (ownText && style.overflowX === 'visible' && box.left + el.scrollWidth > width + 1)
        problems.push(
          `${name(el)}: its text runs ${Math.round(box.left + el.scrollWidth - width)}px past the screen`,
        );
      // Tap targets: buttons, fields, and links that stand on their own.
      const control = el.matches(
        'button, select, textarea, summary, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), nav a, a.button',
      );
      if (control && box.height < 44) problems.push(`${name(el)} is ${Math.round(box.height)}px tall`);
    }
    return problems;
  });
}

describe('every console page on a phone and a laptop', () => {
  it('the sign-in page', async () => {
    const { page, watch } = await consoleAs(null);
    await check(page, watch, 'signed-out', '/login');
  });

  for (const role of ROLES)
    it(`every page of the ${role}`, async () => {
      const { page, watch } = await consoleAs(role);
      await page.goto('/');
      const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
      await links.first().waitFor();
      const paths = (await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!))).map((href) =>
        href.slice(1),
      );
      if (role === 'clinician') paths.push(`/patients/${patientId}`);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) await check(page, watch, role, path);
      // Up to eight pages, each drawn, measured, checked by axe at two sizes and photographed.
    }, 120_000);
});

async function check(page: Page, watch: PageWatch, who: string, path: string) {
  await page.setViewportSize(PHONE);
  await show(page, path);
  const slug =
    path
      .replace(/^\//, '')
      .replace(/\/pat_[^/]+/, '/patient')
      .replace(/\//g, '-') || 'home';
  await screenshot(page, `layout-${who}-${slug}-phone`);
  expect(await phoneProblems(page), `${who} ${path} at 390 px`).toEqual([]);
  expect(await axeViolations(page), `${who} ${path} at 390 px`).toEqual([]);
  await page.setViewportSize(LAPTOP);
  expect(await axeViolations(page), `${who} ${path} at 1280 px`).toEqual([]);
  await screenshot(page, `layout-${who}-${slug}-laptop`);
  expect(watch.cspViolations).toEqual([]);
}
