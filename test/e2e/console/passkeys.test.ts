// Passkeys in the real Chromium, with the DevTools protocol's virtual authenticator (CTAP2,
// internal like a phone's fingerprint sensor, resident keys, user verification): a clinician
// registers a passkey on the "Security keys & passkeys" page (the step-up dialog asks for a
// fresh code first), signs out, and signs in with the passkey alone. Then the authenticator's
// signature counter is set back (WebAuthn.addCredential with a lower signCount, as a cloned
// authenticator would present it): the sign-in is refused, audited as a counter regression, the
// passkey flagged and no session is created.
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeViolations,
  launchBrowser,
  openConsole,
  PHONE,
  screenshot,
  showPageOnFailure,
  startConsoleHub,
  totpNext,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

const NURSE = 'nurse.key';
let hub: ConsoleHub;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let cdp: CDPSession;
let authenticatorId = '';
let totpSecret = '';

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle: string;
  signCount: number;
}

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  const signedIn = await hub.signIn(NURSE, await hub.addUser(NURSE, 'clinician'));
  totpSecret = signedIn.totpSecret;
  ({ context, page, watch } = await openConsole(browser, hub, PHONE, signedIn.token));
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  }));
}, 60_000);

showPageOnFailure(() => page);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await hub?.stop();
});

const audit = (action: string) => hub.pki.store.audit.list({ action, limit: 1 })[0];

async function credentials(): Promise<VirtualCredential[]> {
  return (
    (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] }
  ).credentials;
}

describe('passkeys with a virtual authenticator', () => {
  it('registers a passkey after a step-up, signs out, and signs in with the passkey alone', async () => {
    await page.goto('/#/passkeys');
    await page.getByRole('heading', { name: 'Security keys & passkeys' }).waitFor();
    await page.getByText('You have no passkeys yet.').waitFor();
    await page.getByLabel('Name').fill('Ward phone');
    await page.getByRole('button', { name: 'Add a passkey' }).click();

    // Adding a passkey is a sensitive change: the step-up dialog asks for a fresh factor.
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.waitFor();
    await screenshot(page, 'step-up-dialog-phone');
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByLabel('6-digit code').fill(totpNext(totpSecret));
    await dialog.getByRole('button', { name: 'Confirm with code' }).click();
    await page.getByText('Passkey added.').waitFor();
    await page.locator('li[data-passkey] h2', { hasText: 'Ward phone' }).waitFor();
    expect(await credentials()).toHaveLength(1);
    const stored = hub.pki.store.passkeys.activeOf(NURSE);
    expect(stored).toHaveLength(1);
    const [virtual] = await credentials();
    expect(stored[0]).toMatchObject({
      name: 'Ward phone',
      credentialId: Buffer.from(virtual!.credentialId, 'base64').toString('base64url'),
    });
    expect(audit('auth.passkey.register')).toMatchObject({ actor: `user:${NURSE}`, outcome: 'success' });
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'passkeys-phone');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Use a passkey instead' }).waitFor();
    expect((await context.cookies()).find((c) => c.name === 'vg_session')).toBeUndefined();
    await page.getByRole('button', { name: 'Use a passkey instead' }).click();
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    expect(audit('auth.passkey.sign_in')).toMatchObject({
      actor: `user:${NURSE}`,
      outcome: 'success',
      details: { passkey: stored[0]!.id },
    });
    // A passkey sign-in (user verification) counts as a step-up.
    const session = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).json());
    expect((session as { stepUpValidUntil: string | null }).stepUpValidUntil).not.toBeNull();
    expect(hub.pki.store.passkeys.get(stored[0]!.id)!.signCount).toBeGreaterThan(0);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });

  it('refuses a passkey whose signature counter went backwards, flags it, and opens no session', async () => {
    const [credential] = await credentials();
    const storedBefore = hub.pki.store.passkeys.activeOf(NURSE)[0]!;
    expect(storedBefore.signCount).toBeGreaterThan(0);
    // The same key with its counter set back to 0, as a copy of the authenticator would present it.
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential!.credentialId });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: { ...credential!, signCount: 0 },
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    const sessionsBefore = hub.pki.store.db
      .prepare('SELECT count(*) AS n FROM api_sessions WHERE username = ?')
      .get(NURSE) as { n: number };

    await page.getByRole('button', { name: 'Use a passkey instead' }).click();
    await page.getByText('This passkey looks copied', { exact: false }).waitFor();
    expect(audit('auth.passkey.sign_in')).toMatchObject({
      actor: `user:${NURSE}`,
      outcome: 'denied',
      details: { code: 'PASSKEY_COUNTER_REGRESSED', passkey: storedBefore.id },
    });
    const flagged = hub.pki.store.passkeys.get(storedBefore.id)!;
    expect(flagged.flaggedAt).not.toBeNull();
    expect(flagged.signCount).toBe(storedBefore.signCount);
    expect(hub.pki.store.securityEvents.list({ kind: 'passkey_counter_regressed' })).toHaveLength(1);
    const sessionsAfter = hub.pki.store.db
      .prepare('SELECT count(*) AS n FROM api_sessions WHERE username = ?')
      .get(NURSE) as { n: number };
    expect(sessionsAfter.n).toBe(sessionsBefore.n);
    expect((await context.cookies()).find((c) => c.name === 'vg_session')).toBeUndefined();
    await screenshot(page, 'passkey-counter-refused-phone');

    // A flagged passkey stays refused even with a counter that moves on.
    await page.getByRole('button', { name: 'Use a passkey instead' }).click();
    await page.getByText('This passkey is blocked', { exact: false }).waitFor();
    expect(audit('auth.passkey.sign_in')).toMatchObject({
      outcome: 'denied',
      details: { code: 'PASSKEY_BLOCKED' },
    });
  });
});
