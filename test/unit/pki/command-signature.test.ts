import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCommand, verifyCommand, type UnsignedCommand } from '../../../pki/command-signature.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

const now = 1_800_000_000_000;
const wipe: UnsignedCommand = {
  id: 'cmd-1',
  type: 'wipe',
  issuedAt: now,
  expiresAt: now + 60_000,
  params: { reason: 'lost' },
};

describe('signed commands', () => {
  it('verify against the command-signer certificate', () => {
    const { key, certificatePem } = pki.authority.commandSigner();
    const signed = signCommand(wipe, key);
    expect(verifyCommand(signed, certificatePem, { now, seenIds: new Set() })).toEqual({
      ok: true,
      command: signed,
    });
  });

  it('are refused when tampered, expired, replayed, malformed or signed by another key', async () => {
    const { key, certificatePem } = pki.authority.commandSigner();
    const signed = signCommand(wipe, key);
    const opts = { now, seenIds: new Set<string>() };
    expect(verifyCommand({ ...signed, params: { reason: 'x' } }, certificatePem, opts)).toMatchObject({
      code: 'COMMAND_SIGNATURE_INVALID',
    });
    expect(verifyCommand({ ...signed, type: 'ping' }, certificatePem, opts)).toMatchObject({
      code: 'COMMAND_SIGNATURE_INVALID',
    });
    expect(verifyCommand(signed, certificatePem, { ...opts, now: now + 60_000 })).toMatchObject({
      code: 'COMMAND_EXPIRED',
    });
    expect(verifyCommand(signed, certificatePem, { now, seenIds: new Set(['cmd-1']) })).toMatchObject({
      code: 'COMMAND_REPLAYED',
    });
    expect(verifyCommand({ ...signed, type: 'format-disk' }, certificatePem, opts)).toMatchObject({
      code: 'COMMAND_MALFORMED',
    });
    expect(verifyCommand('garbage', certificatePem, opts)).toMatchObject({ code: 'COMMAND_MALFORMED' });
    const other = await createTestPki();
    try {
      const forged = signCommand(wipe, other.authority.commandSigner().key);
      expect(verifyCommand(forged, certificatePem, opts)).toMatchObject({
        code: 'COMMAND_SIGNATURE_INVALID',
      });
    } finally {
      other.cleanup();
    }
  });
});
