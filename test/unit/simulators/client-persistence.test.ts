// The device client's flash: seq persisted and monotonic across restarts, the bounded on-disk
// outbox in seq order (torn writes discarded, oldest dropped when full), credentials with a
// 0600 key, remembered command ids, and a wipe that leaves no key, certificate or buffer.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceStateDir, type DeviceCredentials } from '../../../simulators/device-state.js';
import { Outbox } from '../../../simulators/outbox.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-sim-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const envelope = (seq: number, readings = 1) =>
  JSON.stringify({ v: 1, seq, ts: 1, readings: Array.from({ length: readings }, () => ({ type: 'spo2' })) });

describe('the outbox', () => {
  it('keeps messages in seq order on disk and across a reopen', () => {
    const outbox = Outbox.open(join(dir, 'outbox'));
    for (const seq of [1, 2, 3]) outbox.append(seq, envelope(seq, seq), seq);
    expect(outbox.first()).toMatchObject({ seq: 1, readings: 1, payload: envelope(1, 1) });
    expect(outbox.remove(1)).toBe(true);
    const reopened = Outbox.open(join(dir, 'outbox'));
    expect(reopened.seqs()).toEqual([2, 3]);
    expect(reopened.readings).toBe(5);
    expect(reopened.lastSeq).toBe(3);
  });

  it('refuses a seq that does not increase', () => {
    const outbox = Outbox.open(join(dir, 'outbox'));
    outbox.append(5, envelope(5), 1);
    expect(() => outbox.append(5, envelope(5), 1)).toThrow(RangeError);
    expect(() => outbox.append(4, envelope(4), 1)).toThrow(RangeError);
  });

  it('orders seqs numerically past 9, 99 and beyond', () => {
    const outbox = Outbox.open(join(dir, 'outbox'));
    for (const seq of [9, 10, 99, 100, 1000]) outbox.append(seq, envelope(seq), 1);
    expect(Outbox.open(join(dir, 'outbox')).seqs()).toEqual([9, 10, 99, 100, 1000]);
  });

  it('is bounded: the oldest message is dropped and counted when full', () => {
    const outbox = Outbox.open(join(dir, 'outbox'), 3);
    for (let seq = 1; seq <= 3; seq++) expect(outbox.append(seq, envelope(seq), 1)).toEqual([]);
    const dropped = outbox.append(4, envelope(4), 1);
    expect(dropped.map((d) => d.seq)).toEqual([1]);
    expect(outbox.seqs()).toEqual([2, 3, 4]);
    expect(outbox.dropped).toBe(1);
    expect(readdirSync(join(dir, 'outbox'))).toHaveLength(3);
  });

  it('discards a half-written message left by a crash', () => {
    const outbox = Outbox.open(join(dir, 'outbox'));
    outbox.append(1, envelope(1), 1);
    writeFileSync(join(dir, 'outbox', '0000000000000002.json.tmp'), '{"v":1,"se');
    const reopened = Outbox.open(join(dir, 'outbox'));
    expect(reopened.seqs()).toEqual([1]);
    expect(readdirSync(join(dir, 'outbox'))).toEqual(['0000000000000001.json']);
  });
});

const creds = (serial = 'ab01'): DeviceCredentials => ({
  keyPem: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n',
  certPem: 'cert',
  caBundlePem: 'ca',
  signerPem: 'signer',
  serial,
  notAfter: 2_000,
  issuedAt: 1_000,
  mqtt: { host: 'localhost', port: 8883 },
});

describe('the device state', () => {
  it('persists seq before handing it out, monotonic across restarts', () => {
    const state = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    expect(state.nextSeq()).toBe(1);
    expect(state.nextSeq()).toBe(2);
    const restarted = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    expect(restarted.lastSeq).toBe(2);
    expect(restarted.nextSeq()).toBe(3);
    // A buffer from an older run that got further than the state file lifts it.
    expect(restarted.nextSeq(10)).toBe(11);
    expect(DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter').nextSeq()).toBe(12);
  });

  it('refuses a directory that belongs to another device', () => {
    DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    expect(() => DeviceStateDir.open(dir, 'ox-2', 'pulse_oximeter')).toThrow(/holds device ox-1/);
  });

  it('stores credentials with the private key readable by the owner only', () => {
    const state = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    expect(state.credentials()).toBeUndefined();
    state.saveCredentials(creds());
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter').credentials()).toEqual(creds());
  });

  it('remembers acted-on command ids until they expire', () => {
    const state = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    state.rememberCommand('c1', 1_000, 0);
    state.rememberCommand('c2', 5_000, 0);
    expect([...DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter').seenCommandIds(500)]).toEqual(['c1', 'c2']);
    expect([...state.seenCommandIds(2_000)]).toEqual(['c2']);
    state.rememberCommand('c3', 9_000, 2_000); // c1 is forgotten on the next write
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).seenCommands)).toEqual([
      'c2',
      'c3',
    ]);
  });

  it('a wipe deletes key, certificate and buffer and keeps only the wiped flag', () => {
    const state = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    state.saveCredentials(creds());
    const outbox = Outbox.open(state.outboxDir);
    outbox.append(state.nextSeq(), envelope(1), 1);
    state.wipe();
    expect(existsSync(join(dir, 'key.pem'))).toBe(false);
    expect(existsSync(join(dir, 'cert.pem'))).toBe(false);
    expect(existsSync(state.outboxDir)).toBe(false);
    const reopened = DeviceStateDir.open(dir, 'ox-1', 'pulse_oximeter');
    expect(reopened.wiped).toBe(true);
    expect(reopened.credentials()).toBeUndefined();
  });
});
