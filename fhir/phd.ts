// Readings relayed by gateways as the HL7 FHIR Personal Health Device IG has them
// (http://hl7.org/fhir/uv/phd): PhdNumericObservation for a number, PhdCompoundNumericObservation
// for blood pressure, coded with the IEEE 11073-10101 (MDC) code first and the LOINC code beside
// it (core/nomenclature.ts), `device` the measuring device, and the core extension
// observation-gatewayDevice naming the gateway (the PHD IG's examples use it the same way). How
// the reading came to be (sensed by the device or entered by a person) is `method`, coded in the
// hub's own system. Gateways are PhgDevice, bound measuring devices PhdDevice with their IEEE
// system id or Bluetooth address and serial as identifiers.
import { MDC_SYSTEM, componentTerm, mdcTerm, DEVICE_SPECIALIZATIONS } from '../core/nomenclature.js';
import type { GatewayBinding } from '../core/store/gateway-bindings.js';
import { fhirDeviceId } from './ids.js';

type Json = Record<string, unknown>;

export const PHD_PROFILES = {
  numeric: 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdNumericObservation',
  compound: 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdCompoundNumericObservation',
  device: 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice',
  gateway: 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhgDevice',
} as const;
export const GATEWAY_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice';
export const MODALITY_SYSTEM = 'urn:vitalgate:modality';
const PHD_CATEGORY = {
  system: 'http://hl7.org/fhir/uv/phd/CodeSystem/PhdObservationCategories',
  code: 'phd',
};
const DEVICE_IDENTIFIERS = 'http://terminology.hl7.org/CodeSystem/ContinuaDeviceIdentifiers';
/** IEEE 11073 system id and Bluetooth address identifier systems, as in the PHD IG's PhdDevice examples. */
const SYSTEM_ID_SYSTEM = 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680';
const BLUETOOTH_SYSTEM = 'http://hl7.org/fhir/sid/eui-48/bluetooth';

/** What the intake sealed with a relayed reading (ingest/schemas.ts ReadingSource). */
interface RelayedSource {
  gateway: string;
  modality: string;
  mdc?: number;
}

export function relayedSource(values: Record<string, unknown>): RelayedSource | undefined {
  const source = values.source as RelayedSource | undefined;
  return source && typeof source.gateway === 'string' ? source : undefined;
}

function mdcCoding(code: number): Json | undefined {
  const term = mdcTerm(code);
  return term ? { system: MDC_SYSTEM, code: String(code), display: term.refid } : undefined;
}

/**
 * Turns a vital-signs Observation of a relayed reading into its PHD form (a new object; the
 * shared parts of `o` are frozen and are replaced, never changed).
 */
export function asPhdObservation(o: Json, source: RelayedSource, fhirIds: boolean): Json {
  const compound = Array.isArray(o.component);
  const meta = o.meta as { profile?: string[] } | undefined;
  const code = o.code as { coding: Json[]; text?: string };
  const mdc = source.mdc === undefined ? undefined : mdcCoding(source.mdc);
  const phd: Json = {
    ...o,
    meta: { profile: [compound ? PHD_PROFILES.compound : PHD_PROFILES.numeric, ...(meta?.profile ?? [])] },
    extension: [
      {
        url: GATEWAY_EXTENSION,
        valueReference: { reference: `Device/${fhirIds ? fhirDeviceId(source.gateway) : source.gateway}` },
      },
    ],
    category: [...(o.category as Json[]), { coding: [PHD_CATEGORY] }],
    code: { ...code, coding: mdc ? [mdc, ...code.coding] : code.coding },
    method: {
      coding: [{ system: MODALITY_SYSTEM, code: source.modality }],
      text: source.modality === 'manual' ? 'Entered by a person' : 'Sensed by the device',
    },
  };
  if (compound) {
    phd.component = (o.component as Json[]).map((c, i) => {
      const term = componentTerm(i === 0 ? 'systolic' : 'diastolic');
      const coding = (c.code as { coding: Json[] }).coding;
      return { ...c, code: { coding: [mdcCoding(term.code)!, ...coding] } };
    });
  }
  return phd;
}

/** The PHD profile and identifiers of a gateway (PhgDevice) or a bound measuring device (PhdDevice). */
export function phdDeviceParts(kind: string, binding: GatewayBinding | undefined): Json {
  if (kind === 'gateway') return { meta: { profile: [PHD_PROFILES.gateway] } };
  if (!binding) return {};
  const identifier: Json[] = [];
  if (binding.systemId !== null) {
    const bluetooth = binding.systemId.includes(':');
    identifier.push({
      type: {
        coding: [
          bluetooth
            ? { system: DEVICE_IDENTIFIERS, code: 'BTMAC', display: 'Bluetooth MAC address' }
            : { system: DEVICE_IDENTIFIERS, code: 'SYSID', display: 'IEEE 11073 System Identifier' },
        ],
      },
      system: bluetooth ? BLUETOOTH_SYSTEM : SYSTEM_ID_SYSTEM,
      // Written as the PHD IG writes them: hex pairs joined by hyphens.
      value: (binding.systemId.replaceAll(':', '').match(/../g) ?? []).join('-'),
    });
  }
  const specialization = DEVICE_SPECIALIZATIONS[kind];
  return {
    meta: { profile: [PHD_PROFILES.device] },
    identifier,
    ...(binding.serial ? { serialNumber: binding.serial } : {}),
    ...(specialization
      ? {
          specialization: [
            {
              systemType: {
                coding: [
                  { system: MDC_SYSTEM, code: String(specialization.code), display: specialization.refid },
                ],
                text: specialization.text,
              },
            },
          ],
        }
      : {}),
  };
}
