// Debian's Chromium for the console's browser tests and benchmark, through playwright-core
// (never a downloaded browser). VITALGATE_CHROMIUM points at another binary.
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.VITALGATE_CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/**
 * A fresh browser context on the hub (its private CA is not in the browser's trust store, so
 * certificate errors are ignored here; the API tests check the chain), optionally carrying a
 * session as the console's own cookie.
 */
export async function hubContext(
  browser: Browser,
  baseURL: string,
  viewport: { width: number; height: number },
  token?: string,
): Promise<BrowserContext> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, baseURL });
  if (token) {
    await context.addCookies([
      {
        name: 'vg_session',
        value: token,
        domain: new URL(baseURL).hostname,
        path: '/',
        httpOnly: true,
        secure: true,
        sameSite: 'Strict',
      },
    ]);
  }
  return context;
}
