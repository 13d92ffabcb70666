// The console's browser tests run against what an operator runs: `vitalgate start` as a child
// process (broker, ingest, API and console on one port) on the run's real InfluxDB, a simulated
// fleet enrolling and publishing over mutual TLS, and Debian's Chromium driven by
// playwright-core. One hub per test file, one browser per file, a fresh browser context per test.
//
// What is not real: the browser trusts the hub's private CA by `ignoreHTTPSErrors` (Chromium has
// no per-process trust store flag; the API tests check the chain itself), and the idle-logoff
// test moves the page's clock forward instead of waiting 15 minutes.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import otplib from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterEach, expect, inject } from 'vitest';
import { BreakGlassGrantRepository } from '../../../core/store/break-glass-grants.js';
import { InfluxClient, quoteIdentifier } from '../../../core/influx.js';
import type { DeviceKind, Role } from '../../../core/domain.js';
import { UserDirectory } from '../../../dashboard-api/services/user-directory.js';
import { DeviceRegistry } from '../../../dashboard-api/services/device-registry.js';
import { HttpsEnrollment } from '../../../simulators/enrollment-transport.js';
import { Fleet, fleetStateDir } from '../../../simulators/fleet.js';
import { HubApi } from '../../../simulators/hub-api.js';
import { CombinedReadback, MetricsReadback } from '../../../simulators/hub-readback.js';
import { LocalHubProvisioner } from '../../../simulators/local-hub.js';
import type { ScenarioName } from '../../../simulators/scenarios.js';
import { hubContext, launchChromium } from '../../support/chromium.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../../support/hub-process.js';
import { tempDir } from '../../integration/simulators/harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOT_DIR = join(ROOT, 'console', 'screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** A same-origin path the tests answer themselves with axe-core (the CSP allows only 'self'). */
const AXE_PATH = '/__test__/axe.min.js';

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;

export interface ConsoleHub {
  pki: TestPki;
  hub: HubProcess;
  baseUrl: string;
  api: HubApi;
  influx: InfluxClient;
  users: UserDirectory;
  /** A new account; answers its one-time password. */
  addUser(username: string, role: Role): Promise<string>;
  /** Signs in through the API (password change, TOTP enrolment): a session token. */
  signIn(username: string, oneTimePassword: string): Promise<{ token: string; totpSecret: string }>;
  /** A fleet of simulated devices on this hub (one device of each kind per patient). */
  startFleet(options: FleetRun): Promise<Fleet>;
  stop(): Promise<void>;
}

export interface FleetRun {
  devices: number;
  kinds: readonly DeviceKind[];
  prefix: string;
  scenario?: ScenarioName | 'mix';
  rateHz?: number;
}

export async function startConsoleHub(env: Record<string, string> = {}): Promise<ConsoleHub> {
  // console/dist is built once per run by the global setup (test/support/global-setup.ts).
  const pki = await createTestPki();
  const influxUrl = inject('influxUrl');
  const database = `console_${randomBytes(5).toString('hex')}`;
  const hub = await startHubProcess({
    VITALGATE_DATA_DIR: pki.dataDir,
    VITALGATE_INFLUX_URL: influxUrl,
    VITALGATE_INFLUX_DB: database,
    ...env,
  });
  const baseUrl = `https://localhost:${hub.ready.apiPort}`;
  const api = new HubApi({ baseUrl, ca: pki.authority.caBundlePem() });
  const users = new UserDirectory(
    pki.store,
    { endAllOf: () => 0 },
    new BreakGlassGrantRepository(pki.store.db),
  );
  const state = tempDir();
  const fleets: Fleet[] = [];
  return {
    pki,
    hub,
    baseUrl,
    api,
    influx: new InfluxClient({ url: influxUrl, database }),
    users,
    async addUser(username, role) {
      return (await users.create(username, role, 'test')).oneTimePassword;
    },
    async signIn(username, oneTimePassword) {
      const password = `walks the ward at night ${randomBytes(3).toString('hex')}`;
      const step = await api.json<{ challengeId: string }>('POST', '/api/v1/auth/login', {
        body: { username, password: oneTimePassword },
      });
      const enrol = await api.json<{ challengeId: string; totp: { secret: string } }>(
        'POST',
        '/api/v1/auth/login/password',
        { body: { challengeId: step.challengeId, newPassword: password } },
      );
      const session = await api.json<{ token: string }>('POST', '/api/v1/auth/mfa', {
        body: { challengeId: enrol.challengeId, code: otplib.authenticator.generate(enrol.totp.secret) },
      });
      return { token: session.token, totpSecret: enrol.totp.secret };
    },
    async startFleet(run) {
      const provisioner = new LocalHubProvisioner({
        config: { enrollmentTokenTtlHours: 1 },
        store: pki.store,
        keyring: pki.keyring,
        registrar: new DeviceRegistry(pki.store, pki.tokens, { enrollmentTokenTtlHours: 1 }, undefined),
        authority: async () => pki.authority,
        actor: 'test',
      });
      const fleet = await Fleet.prepare({
        devices: run.devices,
        kinds: run.kinds,
        rateHz: run.rateHz ?? 1,
        prefix: run.prefix,
        scenario: run.scenario,
        scenarioDelayS: 1,
        stateDir: fleetStateDir(state.dir, pki.authority.caBundlePem()),
        provisioner,
        enrollment: (localAddress) => new HttpsEnrollment(api.from(localAddress)),
        broker: { host: 'localhost', port: hub.ready.mqttPort },
        readback: new CombinedReadback(new MetricsReadback(api), provisioner.records),
      });
      fleet.start();
      fleets.push(fleet);
      return fleet;
    },
    async stop() {
      for (const fleet of fleets) await fleet.stop().catch(() => {});
      await hub.stop();
      await new InfluxClient({ url: influxUrl, database })
        .query(`DROP DATABASE ${quoteIdentifier(database)}`)
        .catch(() => {});
      pki.cleanup();
      state.cleanup();
    },
  };
}

/** An HTTPS request to the hub trusting only its CA: status, headers and body. */
export function fetchHub(
  hub: ConsoleHub,
  path: string,
  options: { method?: string; token?: string; cookie?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(path, hub.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'GET',
        ca: hub.pki.authority.caBundlePem(),
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.cookie ? { cookie: `vg_session=${options.cookie}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body !== undefined ? JSON.stringify(options.body) : undefined);
  });
}

export function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

/** What a page reported while the test ran: CSP violations and uncaught errors. */
export interface PageWatch {
  cspViolations: string[];
  pageErrors: string[];
}

/** A fresh context (no cookies, no storage) and page, watching for CSP violations and errors. */
export async function openConsole(
  browser: Browser,
  hub: ConsoleHub,
  viewport: { width: number; height: number } = PHONE,
  token?: string,
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await hubContext(browser, hub.baseUrl, viewport, token);
  const watch: PageWatch = { cspViolations: [], pageErrors: [] };
  await context.exposeBinding('__vgReportCsp', (_source, text: string) => watch.cspViolations.push(text));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __vgReportCsp(t: string): void }).__vgReportCsp(
        `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
      );
    });
  });
  await context.route(`**${AXE_PATH}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/javascript', body: AXE_SOURCE }),
  );
  const page = await context.newPage();
  // A step that does not happen fails with its locator named, well before the test's timeout.
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => watch.pageErrors.push(err.message));
  return { context, page, watch };
}

/** Serious and critical axe-core violations of the page as it is now. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ url: AXE_PATH });
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations as {
      id: string;
      impact: string;
      nodes: { target: string[] }[];
    }[];
  });
  return results
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** localStorage, sessionStorage and IndexedDB as the page sees them. */
export function webStorage(page: Page): Promise<{ local: number; session: number; indexedDb: number }> {
  return page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    indexedDb: (await indexedDB.databases()).length,
  }));
}

/** Writes a screenshot into the git-ignored console/screenshots folder. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export function removeScreenshots(): void {
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
}

export function totpNow(secret: string): string {
  return otplib.authenticator.generate(secret);
}

/** axe-core at the phone and the desktop size, with a screenshot of each. */
export async function checkAtBothSizes(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    await page.setViewportSize(viewport);
    expect(await axeViolations(page), `${name} at ${size}`).toEqual([]);
    await screenshot(page, `${name}-${size}`);
  }
  await page.setViewportSize(PHONE);
}

/** After a failed test, prints what the page said (the page the test was on). */
export function showPageOnFailure(page: () => Page | undefined): void {
  afterEach(async ({ task }) => {
    const current = page();
    if (task.result?.state === 'fail' && current)
      console.error(
        await current
          .locator('body')
          .innerText()
          .catch(() => ''),
      );
  });
}

/**
 * The code of the next TOTP step: a step-up right after a sign-in cannot reuse the sign-in's code,
 * and the hub accepts one step ahead, so no test waits for the clock.
 */
export function totpNext(secret: string): string {
  return otplib.authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret);
}

/** Steps a session up through the API with the next TOTP code (sensitive actions demand it). */
export async function stepUpSession(hub: ConsoleHub, token: string, secret: string): Promise<void> {
  const res = await fetchHub(hub, '/api/v1/auth/step-up', {
    method: 'POST',
    token,
    body: { code: totpNext(secret) },
  });
  if (res.status !== 200) throw new Error(`step-up ${res.status} ${res.text}`);
}
