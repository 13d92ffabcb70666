// The identity gate: every coded refusal, the renewal grace and allowed networks, on a fake
// control plane (the real one is exercised over TLS in test/integration/broker).
import { describe, expect, it } from 'vitest';
import { DeviceIdentityGate } from '../../../broker/identity.js';
import type { CertificateRecord } from '../../../core/store/certificates.js';
import type { ControlPlane } from '../../../core/store/control-plane.js';
import type { Device } from '../../../core/store/devices.js';

const NOW = 1_800_000_000_000;

function device(overrides: Partial<Device> = {}): Device {
  return {
    id: 'ox-1',
    kind: 'pulse_oximeter',
    model: null,
    patientId: 'p-1',
    status: 'active',
    statusReason: null,
    allowedNetworks: [],
    currentSerial: 'abc123',
    firmware: null,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

function gate(devices: Device[], certificates: Partial<CertificateRecord>[] = []) {
  const store = {
    devices: { get: (id: string) => devices.find((d) => d.id === id) },
    certificates: {
      get: (serial: string) => certificates.find((c) => c.serial === serial),
      enrollmentOf: (serial: string) =>
        certificates.find((c) => c.serial === serial)?.enrollmentSerial ?? serial,
    },
  } as unknown as ControlPlane;
  return new DeviceIdentityGate(store, () => NOW);
}

const cert = (cn: string, serialNumber = 'ABC123') => ({ subject: { O: 'VitalGate', CN: cn }, serialNumber });

describe('DeviceIdentityGate', () => {
  it('admits an active device with its current certificate, client id = CN', () => {
    expect(gate([device()]).decide(cert('ox-1'), 'ox-1', '10.1.2.3')).toEqual({
      ok: true,
      identity: {
        deviceId: 'ox-1',
        kind: 'pulse_oximeter',
        patientId: 'p-1',
        serial: 'abc123',
        enrollment: 'abc123',
        address: '10.1.2.3',
      },
    });
  });

  it('names the enrollment a renewed certificate belongs to (its replay window)', () => {
    const renewed = gate(
      [device({ currentSerial: 'def456' })],
      [{ serial: 'def456', enrollmentSerial: 'abc123' }],
    );
    const decision = renewed.decide(cert('ox-1', 'DEF456'), 'ox-1', '10.1.2.3');
    expect(decision).toMatchObject({ ok: true, identity: { serial: 'def456', enrollment: 'abc123' } });
  });

  it.each([
    ['no certificate', undefined, 'ox-1', 'NO_CLIENT_CERTIFICATE', 5],
    [
      'two CNs',
      { subject: { CN: ['ox-1', 'ox-2'] }, serialNumber: 'ABC123' },
      'ox-1',
      'CERTIFICATE_SUBJECT_INVALID',
      5,
    ],
    [
      'no CN',
      { subject: { O: 'VitalGate' }, serialNumber: 'ABC123' },
      'ox-1',
      'CERTIFICATE_SUBJECT_INVALID',
      5,
    ],
    ['a CN that is no device id', cert('ox 1/#'), 'ox 1/#', 'CERTIFICATE_SUBJECT_INVALID', 5],
    ['client id ≠ CN', cert('ox-1'), 'ox-2', 'CLIENT_ID_MISMATCH', 2],
    ['an unknown device', cert('ox-9'), 'ox-9', 'DEVICE_UNKNOWN', 5],
    ['an old certificate', cert('ox-1', '00DEF'), 'ox-1', 'CERTIFICATE_NOT_CURRENT', 5],
  ])('refuses %s', (_name, peer, clientId, code, returnCode) => {
    expect(gate([device()]).decide(peer, clientId, '10.1.2.3')).toMatchObject({
      ok: false,
      code,
      returnCode,
    });
  });

  it.each(['pending', 'disabled', 'quarantined', 'wiped', 'revoked'] as const)(
    'refuses a %s device',
    (status) => {
      expect(gate([device({ status })]).decide(cert('ox-1'), 'ox-1', '10.1.2.3')).toMatchObject({
        ok: false,
        code: 'DEVICE_NOT_ACTIVE',
        deviceId: 'ox-1',
      });
    },
  );

  it('admits a superseded certificate inside its renewal grace, and not after', () => {
    const old = { serial: 'def', deviceId: 'ox-1', status: 'superseded' as const };
    expect(
      gate([device()], [{ ...old, graceUntil: NOW + 1 }]).decide(cert('ox-1', '00DEF'), 'ox-1', '10.1.2.3'),
    ).toMatchObject({ ok: true, identity: { serial: 'def' } });
    expect(
      gate([device()], [{ ...old, graceUntil: NOW }]).decide(cert('ox-1', 'DEF'), 'ox-1', '10.1.2.3'),
    ).toMatchObject({ ok: false, code: 'CERTIFICATE_NOT_CURRENT' });
    expect(
      gate([device()], [{ ...old, status: 'revoked', graceUntil: NOW + 1 }]).decide(
        cert('ox-1', 'DEF'),
        'ox-1',
        '10.1.2.3',
      ),
    ).toMatchObject({ ok: false, code: 'CERTIFICATE_NOT_CURRENT' });
    expect(
      gate([device()], [{ ...old, deviceId: 'ox-2', graceUntil: NOW + 1 }]).decide(
        cert('ox-1', 'DEF'),
        'ox-1',
        '10.1.2.3',
      ),
    ).toMatchObject({ ok: false, code: 'CERTIFICATE_NOT_CURRENT' });
  });

  it('applies allowed networks when the device has any (IPv4-mapped addresses too)', () => {
    const g = gate([device({ allowedNetworks: ['10.1.0.0/16'] })]);
    expect(g.decide(cert('ox-1'), 'ox-1', '10.1.2.3').ok).toBe(true);
    expect(g.decide(cert('ox-1'), 'ox-1', '::ffff:10.1.2.3').ok).toBe(true);
    expect(g.decide(cert('ox-1'), 'ox-1', '10.2.0.1')).toMatchObject({
      ok: false,
      code: 'SOURCE_NOT_ALLOWED',
    });
  });
});
