import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openDatabase, migrate } from '../../../core/store/database.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import { hashPassword, verifyPassword, generateOneTimePassword } from '../../../core/passwords.js';

describe('control plane store', () => {
  it('applies migrations once, in order, including late lower-numbered ones', () => {
    const db = openDatabase(':memory:');
    expect(migrate(db, [{ version: 150, name: 't150', sql: 'CREATE TABLE t150 (x)' }])).toEqual([150]);
    expect(migrate(db, [{ version: 150, name: 't150', sql: 'CREATE TABLE t150 (x)' }])).toEqual([]);
    expect(migrate(db, [{ version: 120, name: 't120', sql: 'CREATE TABLE t120 (x)' }])).toEqual([120]);
    expect(() => migrate(db, [{ version: 7, name: 'bad', sql: 'CREATE TABLE meta (x)' }])).toThrow();
    expect(db.prepare('SELECT 1 FROM schema_migrations WHERE version = 7').get()).toBeUndefined();
  });

  it('persists across reopen of the data dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-store-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const cp = ControlPlane.open(dir);
    cp.devices.add({ id: 'ox-1', kind: 'pulse_oximeter' });
    cp.close();
    const again = ControlPlane.open(dir);
    expect(again.devices.require('ox-1')).toMatchObject({
      id: 'ox-1',
      kind: 'pulse_oximeter',
      status: 'pending',
    });
    again.close();
  });

  it('refuses duplicate devices and unknown patients with codes', () => {
    const cp = new ControlPlane(openDatabase(':memory:'));
    cp.devices.add({ id: 'ox-1', kind: 'pulse_oximeter' });
    expect(() => cp.devices.add({ id: 'ox-1', kind: 'pulse_oximeter' })).toThrow(
      expect.objectContaining({ code: 'DEVICE_EXISTS' }),
    );
    expect(() => cp.devices.add({ id: 'ox-2', kind: 'pulse_oximeter', patientId: 'nobody' })).toThrow(
      expect.objectContaining({ code: 'PATIENT_NOT_FOUND' }),
    );
    expect(cp.devices.get('ox-2')).toBeUndefined();
  });

  it('spends an enrollment token exactly once and never after expiry', () => {
    let now = 1_000;
    const cp = new ControlPlane(openDatabase(':memory:'), () => now);
    cp.devices.add({ id: 'ox-1', kind: 'pulse_oximeter' });
    cp.enrollmentTokens.add({ tokenHash: 'h1', deviceId: 'ox-1', expiresAt: 2_000, createdBy: 'cli:ops' });
    cp.enrollmentTokens.add({ tokenHash: 'h2', deviceId: 'ox-1', expiresAt: 2_000, createdBy: 'cli:ops' });
    expect(cp.enrollmentTokens.spend('h1', 'other-device')).toBe(false);
    expect(cp.enrollmentTokens.spend('h1', 'ox-1')).toBe(true);
    expect(cp.enrollmentTokens.spend('h1', 'ox-1')).toBe(false);
    now = 2_000;
    expect(cp.enrollmentTokens.spend('h2', 'ox-1')).toBe(false);
  });

  it('uses a TOTP step at most once', () => {
    const cp = new ControlPlane(openDatabase(':memory:'));
    cp.users.add({ username: 'alice', role: 'clinician', passwordHash: 'x', mustChangePassword: false });
    expect(cp.users.consumeTotpStep('alice', 100)).toBe(true);
    expect(cp.users.consumeTotpStep('alice', 100)).toBe(false);
    expect(cp.users.consumeTotpStep('alice', 99)).toBe(false);
    expect(cp.users.consumeTotpStep('alice', 101)).toBe(true);
  });
});

describe('passwords', () => {
  it('verifies the right password only', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('generates distinct one-time passwords', () => {
    const a = generateOneTimePassword();
    expect(a).toHaveLength(20);
    expect(generateOneTimePassword()).not.toBe(a);
  });
});
