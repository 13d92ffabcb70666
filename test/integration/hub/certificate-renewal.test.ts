// The hub's rotate-cert prompts against a real control plane, with the command publisher replaced
// by a recorder (the broker path is covered end to end in test/e2e/device-commands.test.ts):
// sent only for the current certificate of an active device inside the window, at most once per
// certificate, and again only when the first one never went out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { CertificateRotationRepository } from '../../../core/store/certificate-rotations.js';
import { CertificateRenewalPrompts } from '../../../hub/certificate-renewal.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
const sent: { deviceId: string; type: string; id: string | undefined }[] = [];
let answer: 'acked' | 'not_connected' = 'acked';

beforeAll(async () => {
  pki = await createTestPki({ VITALGATE_DEVICE_CERT_DAYS: '5' }); // 5-day device certificates
  await pki.issueDevice('ox-1', 'pulse_oximeter');
  await pki.issueDevice('ox-2', 'pulse_oximeter');
});
afterAll(() => pki.cleanup());

const prompts = (windowDays: number) =>
  new CertificateRenewalPrompts({
    config: { deviceCertDays: 90, deviceRenewalWindowDays: windowDays },
    store: pki.store,
    logger: silentLogger(),
    commands: {
      send: (deviceId, type, _params, _actor, options) => {
        sent.push({ deviceId, type, id: options?.id });
        return Promise.resolve({ command: {} as never, outcome: answer });
      },
    },
  });
const session = (deviceId: string) => ({
  deviceId,
  serial: pki.store.devices.require(deviceId).currentSerial!,
});

describe('rotate-cert prompts', () => {
  it('are not sent outside the window', async () => {
    expect(await prompts(3).prompt(session('ox-1'))).toBeUndefined();
    expect(sent).toHaveLength(0);
  });

  it('are sent once per certificate inside the window, recorded under the command id', async () => {
    const renewal = prompts(7);
    expect(await renewal.prompt(session('ox-1'))).toBe('acked');
    expect(await renewal.prompt(session('ox-1'))).toBeUndefined();
    expect(await prompts(7).prompt(session('ox-1'))).toBeUndefined(); // a restarted hub too
    expect(sent).toEqual([{ deviceId: 'ox-1', type: 'rotate-cert', id: expect.any(String) }]);
    expect(new CertificateRotationRepository(pki.store.db).get(session('ox-1').serial)).toMatchObject({
      commandId: sent[0]!.id,
      outcome: 'acked',
    });
  });

  it('are sent again when the first never went out (the device left meanwhile)', async () => {
    answer = 'not_connected';
    expect(await prompts(7).prompt(session('ox-2'))).toBe('not_connected');
    expect(new CertificateRotationRepository(pki.store.db).get(session('ox-2').serial)).toBeUndefined();
    answer = 'acked';
    expect(await prompts(7).prompt(session('ox-2'))).toBe('acked');
    expect(sent.filter((s) => s.deviceId === 'ox-2')).toHaveLength(2);
  });

  it('are not sent for a certificate that is not the device’s current one, nor to an inactive device', async () => {
    await pki.issueDevice('ox-3', 'pulse_oximeter');
    const old = session('ox-3');
    pki.store.devices.setCurrentSerial('ox-3', 'not-this-one');
    expect(await prompts(7).prompt(old)).toBeUndefined();
    pki.store.devices.setCurrentSerial('ox-3', old.serial);
    pki.store.devices.setStatus('ox-3', 'disabled', 'test');
    expect(await prompts(7).prompt(old)).toBeUndefined();
    expect(sent.filter((s) => s.deviceId === 'ox-3')).toHaveLength(0);
  });
});
