// Readings relayed by gateways as PHD IG Observations, and gateways and their devices as FHIR
// Devices: every resource validates against the official FHIR R4 schema, and the MDC and LOINC
// codings of each type are the table's (core/nomenclature.ts).
import { describe, expect, it } from 'vitest';
import type { ReadingType } from '../../../core/domain.js';
import { MDC_SYSTEM, MDC_TERMS, mdcCodeFor } from '../../../core/nomenclature.js';
import type { Device } from '../../../core/store/devices.js';
import type { GatewayBinding } from '../../../core/store/gateway-bindings.js';
import { observationEntryJson, toObservation, type ReadingPoint } from '../../../fhir/observations.js';
import { GATEWAY_EXTENSION, PHD_PROFILES } from '../../../fhir/phd.js';
import { StoreFhirRepository } from '../../../fhir/repository.js';
import { fhirValidator } from '../../integration/api/fhir-schema.js';

const patientId = 'pat_abcdefghijkl';
const ts = Date.parse('2026-12-06T07:00:00Z');
const KIND: Partial<Record<ReadingType, string>> = {
  heart_rate: 'pulse_oximeter',
  spo2: 'pulse_oximeter',
  blood_pressure: 'bp_monitor',
  body_temperature: 'thermometer',
  blood_glucose: 'glucometer',
  body_weight: 'weight_scale',
  respiratory_rate: 'wearable',
};
const VALUES: Partial<Record<ReadingType, Record<string, unknown>>> = {
  heart_rate: { value: 64, unit: '/min' },
  spo2: { value: 97, unit: '%' },
  blood_pressure: { systolic: 128, diastolic: 82, unit: 'mm[Hg]' },
  body_temperature: { value: 36.8, unit: 'Cel' },
  blood_glucose: { value: 101, unit: 'mg/dL' },
  body_weight: { value: 80.2, unit: 'kg' },
  respiratory_rate: { value: 15, unit: '/min' },
};

function relayedPoint(type: ReadingType, modality = 'sensed'): ReadingPoint {
  const mdc = mdcCodeFor(type, KIND[type])!.code;
  return {
    ts,
    deviceId: `dev-${type.replaceAll('_', '-')}`,
    type,
    values: { ...VALUES[type], source: { gateway: 'gw-home', modality, receivedAt: ts + 1000, mdc } },
  };
}

const codings = (code: unknown) => (code as { coding: { system: string; code: string }[] }).coding;

describe('PHD Observations of relayed readings', () => {
  const observation = fhirValidator('Observation');
  const types = [...new Set(MDC_TERMS.map((t) => t.type))];

  it.each(types)(
    '%s: valid R4, PHD profile, MDC and LOINC codings from the table, gateway and device',
    (type) => {
      const o = toObservation(patientId, relayedPoint(type), 'fhir')!;
      expect(observation(o), JSON.stringify(observation.errors)).toBe(true);
      const compound = type === 'blood_pressure';
      expect((o.meta as { profile: string[] }).profile[0]).toBe(
        compound ? PHD_PROFILES.compound : PHD_PROFILES.numeric,
      );
      const term = mdcCodeFor(type, KIND[type])!;
      expect(codings(o.code)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ system: MDC_SYSTEM, code: String(term.code) }),
          expect.objectContaining({ system: 'http://loinc.org', code: term.loinc }),
        ]),
      );
      expect(o.device).toEqual({ reference: `Device/dev-${type.replaceAll('_', '-')}` });
      expect(o.extension).toEqual([
        { url: GATEWAY_EXTENSION, valueReference: { reference: 'Device/gw-home' } },
      ]);
      if (compound) {
        const components = (o.component as { code: unknown }[]).map((c) =>
          codings(c.code).map((x) => x.code),
        );
        expect(components).toEqual([
          ['150021', '8480-6'],
          ['150022', '8462-4'],
        ]);
      }
    },
  );

  it('says how the reading came to be; the search entry written as text is the same JSON', () => {
    const manual = toObservation(patientId, relayedPoint('body_weight', 'manual'), 'fhir')!;
    expect(manual.method).toMatchObject({ coding: [{ system: 'urn:vitalgate:modality', code: 'manual' }] });
    const point = relayedPoint('spo2');
    const entry = observationEntryJson('https://hub/fhir/R4', patientId, point)!;
    expect(JSON.parse(entry).resource).toEqual(
      JSON.parse(JSON.stringify(toObservation(patientId, point, 'fhir'))),
    );
  });

  it('a direct device’s reading stays a vital-signs Observation without PHD parts', () => {
    const o = toObservation(
      patientId,
      { ts, deviceId: 'ox-1', type: 'spo2', values: { value: 97, unit: '%' } },
      'fhir',
    )!;
    expect(o.extension).toBeUndefined();
    expect((o.meta as { profile: string[] }).profile).not.toContain(PHD_PROFILES.numeric);
  });
});

describe('gateways and bound devices as FHIR Devices', () => {
  const device = (id: string, kind: Device['kind'], patient: string | null): Device => ({
    id,
    kind,
    model: null,
    patientId: patient,
    status: 'active',
    statusReason: null,
    allowedNetworks: [],
    currentSerial: null,
    firmware: null,
    createdAt: ts,
    updatedAt: ts,
  });
  const devices = [device('bp-1', 'bp_monitor', patientId), device('gw-home', 'gateway', null)];
  const binding: GatewayBinding = {
    id: 1,
    deviceId: 'bp-1',
    gatewayId: 'gw-home',
    systemId: '0011223344556677',
    serial: 'CUFF-1',
    boundAt: ts,
    boundBy: 'test',
    clockDriftMs: null,
    driftAt: null,
  };
  const repository = new StoreFhirRepository({
    patients: { list: () => [{ id: patientId, erasedAt: null }], get: () => ({ erasedAt: null }) },
    demographics: { get: () => ({ name: 'x', birthDate: '1950-01-01' }) },
    devices: {
      list: (filter) => devices.filter((d) => !filter?.patientId || d.patientId === filter.patientId),
      get: (id) => devices.find((d) => d.id === id),
    },
    bindings: { ofDevice: (id) => (id === 'bp-1' ? binding : undefined) },
    readings: { raw: async () => [], count: async () => 0 },
  });

  it('a patient’s devices come with the gateway that relays them: PhdDevice and PhgDevice, valid R4', () => {
    const validate = fhirValidator('Device');
    const found = repository.searchDevices(patientId).map((d) => d.resource as Record<string, unknown>);
    expect(found.map((d) => d.id)).toEqual(['bp-1', 'gw-home']);
    for (const d of found) expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    expect(found[0]).toMatchObject({
      meta: { profile: [PHD_PROFILES.device] },
      serialNumber: 'CUFF-1',
      specialization: [{ systemType: { coding: [{ system: MDC_SYSTEM, code: '528391' }] } }],
    });
    expect(found[0]!.identifier).toContainEqual(
      expect.objectContaining({
        system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680',
        value: '00-11-22-33-44-55-66-77',
      }),
    );
    expect(found[1]).toMatchObject({ meta: { profile: [PHD_PROFILES.gateway] } });
  });
});
