// Care-team messaging in a real Chromium against `vitalgate start`: two clinicians in two browser
// contexts (a phone and a desktop) exchange messages in their patient's conversation and see each
// other's arrive live (the SSE notice, no reload) with read receipts; "Discuss" on an alert opens
// the patient's conversation with the alert attached; a message is filed to the chart after its
// preview is confirmed. axe-core and screenshots at both sizes for the new pages.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FiledCommunicationRepository } from '../../../core/store/filed-communications.js';
import { addPatient } from '../../support/ingest.js';
import {
  DESKTOP,
  PHONE,
  checkAtBothSizes,
  fetchHub,
  launchBrowser,
  openConsole,
  showPageOnFailure,
  startConsoleHub,
  type ConsoleHub,
  type PageWatch,
} from './harness.js';

let hub: ConsoleHub;
let browser: Browser;
let patient = '';
let conversationId = '';
const tabs: Record<string, { context: BrowserContext; page: Page; watch: PageWatch }> = {};
let current: Page | undefined;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startConsoleHub(), launchBrowser()]);
  patient = addPatient(hub.pki, 'Florence Nightingale');
  for (const [name, viewport] of [
    ['nurse.ann', PHONE],
    ['dr.ben', DESKTOP],
  ] as const) {
    const { token } = await hub.signIn(name, await hub.addUser(name, 'clinician'));
    hub.pki.store.patients.assign(patient, name);
    tabs[name] = await openConsole(browser, hub, viewport, token);
    if (name === 'nurse.ann') {
      const opened = await fetchHub(hub, '/api/v1/conversations', {
        method: 'POST',
        token,
        body: { patientId: patient },
      });
      expect(opened.status, opened.text).toBe(201);
      conversationId = (JSON.parse(opened.text) as { id: string }).id;
    }
  }
}, 120_000);

showPageOnFailure(() => current);

afterAll(async () => {
  for (const t of Object.values(tabs)) await t.context.close();
  await browser?.close();
  await hub?.stop();
});

async function send(page: Page, text: string, urgent = false) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  if (urgent) await page.getByLabel('Urgent').check();
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('messaging in the console', () => {
  it('two clinicians exchange messages live, with read receipts', async () => {
    const ann = tabs['nurse.ann']!.page;
    const ben = tabs['dr.ben']!.page;
    current = ann;
    for (const page of [ann, ben]) {
      await page.goto(`/#/conversations/${conversationId}`);
      await page.getByRole('heading', { name: 'About Florence Nightingale' }).waitFor();
    }
    await send(ann, 'SpO2 of bed 12 dropping since 3 am, can you look?', true);
    // Ben's page shows it without a reload: the live notice made it fetch.
    await ben.getByText('SpO2 of bed 12 dropping since 3 am').waitFor();
    await expect.poll(() => ben.locator('.badge-critical').count()).toBe(1);
    current = ben;
    await send(ben, 'On my way.');
    await ann.getByText('On my way.').waitFor();
    // Ben's page read Ann's message; Ann's page shows the receipt once it reloads on his reply.
    await ann.getByText('Read by dr.ben').waitFor();

    await ann.goto('/#/conversations');
    await ann.getByRole('heading', { name: 'Messages' }).waitFor();
    await ann.getByRole('link', { name: 'About Florence Nightingale' }).waitFor();
    expect(await ann.locator('[data-conversation]').innerText()).not.toContain('SpO2');
    await checkAtBothSizes(ann, 'conversations');
    for (const t of Object.values(tabs))
      expect([t.watch.cspViolations, t.watch.pageErrors]).toEqual([[], []]);
  });

  it('"Discuss" on an alert opens the patient\'s conversation with the alert attached', async () => {
    const ann = tabs['nurse.ann']!.page;
    current = ann;
    const alert = hub.pki.store.alerts.raise({
      patientId: patient,
      deviceId: 'ox-1',
      rule: 'spo2_low',
      severity: 'critical',
    });
    await ann.goto('/#/alerts');
    await ann.locator(`[data-discuss="${alert.id}"]`).click();
    await ann.getByRole('heading', { name: 'About Florence Nightingale' }).waitFor();
    expect(ann.url()).toContain(`/conversations/${conversationId}?alert=${alert.id}`);
    await ann.getByText(`Alert ${alert.id} attached`).waitFor();
    await send(ann, 'This alert: probe fell off?');
    await ann.getByText(`About alert ${alert.id}`).waitFor();
    await checkAtBothSizes(ann, 'conversation');
  });

  it('files a message to the chart after confirming the preview', async () => {
    const ben = tabs['dr.ben']!.page;
    current = ben;
    await ben.goto(`/#/conversations/${conversationId}`);
    const first = ben.locator('[data-message]').first();
    await first.getByLabel('Select for chart').check();
    await ben.getByRole('button', { name: 'File selected to chart' }).click();
    await ben.getByRole('heading', { name: 'File to the record exactly this?' }).waitFor();
    expect(new FiledCommunicationRepository(hub.pki.store.db).ofPatient(patient)).toEqual([]);
    await ben.getByRole('button', { name: 'Confirm filing' }).click();
    await ben.getByText('Filed 1 message(s) to the record.').waitFor();
    expect(new FiledCommunicationRepository(hub.pki.store.db).ofPatient(patient)).toHaveLength(1);
  });
});
