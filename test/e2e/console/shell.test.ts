// The console as the hub serves it: strict CSP on every console response, no caching of API
// answers, the sign-in page in a real Chromium at phone and desktop sizes with no CSP violation
// and no serious accessibility problem, and refusals for what is not there.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import {
  DESKTOP,
  PHONE,
  axeViolations,
  fetchHub,
  launchBrowser,
  openConsole,
  screenshot,
  startConsoleHub,
  type ConsoleHub,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

describe('the console as served by the hub', () => {
  it('serves / and its assets with a strict Content-Security-Policy', async () => {
    const index = await fetchHub(hub, '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.text).toContain('/assets/app.js');
    for (const res of [
      index,
      await fetchHub(hub, '/assets/app.js'),
      await fetchHub(hub, '/assets/app.css'),
    ]) {
      expect(res.status).toBe(200);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    }
    expect(index.headers['cache-control']).toBe('no-store');
  });

  it('passes check VG-API-010 against the running hub (strict console CSP, API answers not stored)', async () => {
    const run = await runCli(['check', '--json'], {
      VITALGATE_DATA_DIR: hub.pki.dataDir,
      VITALGATE_INFLUX_URL: inject('influxUrl'),
    });
    const report = JSON.parse(run.stdout) as { results: { id: string; status: string; evidence: string }[] };
    expect(
      report.results.find((r) => r.id === 'VG-API-010'),
      run.stderr,
    ).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('strict'),
    });
  });

  it('refuses asset names that are not build outputs', async () => {
    for (const path of [
      '/assets/..%2Fpackage.json',
      '/assets/.hidden.js',
      '/assets/nothing.js',
      '/console/src/main.ts',
    ]) {
      const res = await fetchHub(hub, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.text).error.code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('answers every API response, PHI or refusal, with Cache-Control: no-store', async () => {
    for (const path of ['/api/v1/auth/session', '/api/v1/patients', '/api/v1/nothing']) {
      const res = await fetchHub(hub, path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers['cache-control'], path).toBe('no-store');
    }
  });

  it('signs an idle user out after the warning; a script cannot press "stay signed in"; the old cookie is refused', async () => {
    const otp = await hub.addUser('nurse.idle', 'clinician');
    const { token } = await hub.signIn('nurse.idle', otp);
    const { context, page, watch } = await openConsole(browser, hub, PHONE, token);
    try {
      await page.clock.install();
      await page.goto('/');
      await page.getByRole('heading', { name: 'My patients' }).waitFor();
      const warning = page.getByRole('dialog', { name: 'Are you still there?' });
      // 15 minutes idle (the default): the warning comes a minute before.
      await page.clock.fastForward('14:05');
      await warning.waitFor();
      expect(await warning.innerText()).toMatch(/signed out in \d+ seconds/);
      await screenshot(page, 'idle-warning-phone');
      await page.getByRole('button', { name: 'Stay signed in' }).click();
      await warning.waitFor({ state: 'hidden' });
      await page.clock.fastForward('10:00');
      expect(await warning.isVisible()).toBe(false);
      expect((await fetchHub(hub, '/api/v1/auth/session', { cookie: token })).status).toBe(200);
      await page.clock.fastForward('04:30');
      await warning.waitFor();
      await page.evaluate(() => document.querySelector<HTMLButtonElement>('.idle-warning button')!.click());
      await page.clock.fastForward('01:00');
      await page.getByText('You were signed out because the console was not used for a while.').waitFor();
      expect((await fetchHub(hub, '/api/v1/auth/session', { cookie: token })).status).toBe(401);
      expect(watch.cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a hand-typed page of another role before anything is fetched', async () => {
    const otp = await hub.addUser('eng.typed', 'engineer');
    const { token } = await hub.signIn('eng.typed', otp);
    const { context, page, watch } = await openConsole(browser, hub, PHONE, token);
    try {
      const api: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/api/v1/') && !r.url().endsWith('/auth/session')) api.push(r.url());
      });
      await page.goto('/#/patients/pat_doesnotexist00');
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      expect(await page.locator('main').innerText()).toContain('Your role (engineer) does not give access');
      await page.goto('about:blank');
      await page.goto('/#/alerts');
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      expect(api).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      expect(watch.cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  for (const [name, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    it(`shows the sign-in page on a ${name}, accessible and without CSP violations`, async () => {
      const { context, page, watch } = await openConsole(browser, hub, viewport);
      try {
        await page.goto('/');
        await page.getByRole('heading', { name: 'Sign in to VitalGate' }).waitFor();
        expect(page.url()).toMatch(/#\/login$/);
        expect(await axeViolations(page)).toEqual([]);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByText('Enter your username and password.').waitFor();
        await page.getByLabel('Username').fill('nobody.here');
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByText('The username or password is not right.').waitFor();
        await screenshot(page, `sign-in-${name}`);
        // A hand-typed page while signed out goes to sign-in and fetches nothing else.
        await page.goto('about:blank');
        await page.goto('/#/patients/pat_doesnotexist00');
        await page.getByRole('heading', { name: 'Sign in to VitalGate' }).waitFor();
        expect(watch.cspViolations).toEqual([]);
        expect(watch.pageErrors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
