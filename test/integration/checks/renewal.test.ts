// VG-DEV-007 and its setting: a device whose certificate is inside the renewal window fails the
// check until the hub has recorded a rotate-cert for that certificate; the window must be shorter
// than the certificate validity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, renewalWindowDays } from '../../../core/config.js';
import { CertificateRotationRepository } from '../../../core/store/certificate-rotations.js';
import { renewalPrompted } from '../../../hub/checks/renewal.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  // The CA of this data dir issues 5-day device certificates.
  pki = await createTestPki({ VITALGATE_DEVICE_CERT_DAYS: '5' });
});
afterAll(() => pki.cleanup());

const run = (window: number, now = Date.now()) =>
  Promise.resolve(
    renewalPrompted.run(
      checkContext(pki, {
        config: { ...pki.config, deviceCertDays: 90, deviceRenewalWindowDays: window },
        now,
      }),
    ),
  );

describe('VG-DEV-007: devices inside the renewal window were sent rotate-cert', () => {
  it('passes with no certificate inside the window', async () => {
    await pki.issueDevice('ox-due', 'pulse_oximeter');
    expect(await run(3)).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('within 3 days'),
    });
  });

  it('fails naming a device inside the window that was sent no rotate-cert, and passes once one was', async () => {
    const failed = await run(7);
    expect(failed).toMatchObject({ status: 'fail', evidence: expect.stringContaining('ox-due (4 d left)') });
    expect(failed.remediation).toContain('vitalgate device token');
    const serial = pki.store.devices.require('ox-due').currentSerial!;
    new CertificateRotationRepository(pki.store.db).record(serial, 'ox-due', 'cmd-1');
    expect(await run(7)).toMatchObject({
      status: 'pass',
      evidence: '1 device(s) inside the 7-day renewal window, each sent rotate-cert',
    });
  });

  it('looks only at the current certificate of active devices', async () => {
    await pki.issueDevice('ox-off', 'pulse_oximeter');
    expect((await run(7)).evidence).toContain('ox-off');
    pki.store.devices.setStatus('ox-off', 'disabled', 'test');
    expect(await run(7)).toMatchObject({ status: 'pass' });
  });
});

describe('VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS', () => {
  it('must be shorter than the certificate validity, and defaults to a third of it, at most 30 days', () => {
    expect(() =>
      loadConfig({ env: { VITALGATE_DEVICE_CERT_DAYS: '30', VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS: '30' } }),
    ).toThrow(
      /^config: VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS: must be shorter than the device certificate validity/,
    );
    expect(() => loadConfig({ env: { VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS: '0' } })).toThrow(
      /VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS/,
    );
    expect(renewalWindowDays(loadConfig({ env: {} }))).toBe(30);
    expect(renewalWindowDays(loadConfig({ env: { VITALGATE_DEVICE_CERT_DAYS: '12' } }))).toBe(4);
    expect(renewalWindowDays(loadConfig({ env: { VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS: '14' } }))).toBe(14);
  });
});
