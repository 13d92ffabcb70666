// The CapabilityStatement: what this server implements and nothing more. Read and search of
// Patient, Device, Observation and Communication with the parameters fhir/search.ts accepts,
// Patient $everything, JSON only, and (when SMART Backend Services are on) the token endpoint.
type Json = Record<string, unknown>;

const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';

function param(name: string, type: string, documentation: string): Json {
  return { name, type, documentation };
}

const COUNT = param(
  '_count',
  'number',
  'Entries per page, 1 to 1000 (100 by default); a `next` link follows while more remain.',
);

export interface CapabilityOptions {
  baseUrl: string;
  version: string;
  /** The SMART token endpoint, when system clients are served. */
  tokenUrl?: string | undefined;
  date: string;
}

export function capabilityStatement(o: CapabilityOptions): Json {
  const security: Json = {
    cors: false,
    description:
      'Staff sessions (Bearer session token) pass the PHI gate: role, network, and assignment or break-glass per patient. ' +
      (o.tokenUrl ? 'System clients use SMART Backend Services (private_key_jwt, system/*.rs scopes).' : ''),
  };
  if (o.tokenUrl) {
    security.service = [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
      },
    ];
    security.extension = [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: o.tokenUrl }],
      },
    ];
  }
  const readSearch = [{ code: 'read' }, { code: 'search-type' }];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: o.date,
    publisher: 'VitalGate',
    kind: 'instance',
    software: { name: 'VitalGate', version: o.version },
    implementation: { description: 'VitalGate hub FHIR R4 facade (read-only)', url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        security,
        resource: [
          {
            type: 'Patient',
            interaction: readSearch,
            searchParam: [param('_id', 'token', 'The pseudonymous Patient id.'), COUNT],
            operation: [
              {
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                documentation:
                  'One patient: the Patient, their Devices, the Communications filed to their record, and Observations between `start` and `end` (at most 31 days), paged by `_count`.',
              },
            ],
          },
          {
            type: 'Device',
            interaction: readSearch,
            searchParam: [param('patient', 'reference', 'Devices bound to the patient.'), COUNT],
          },
          {
            type: 'Observation',
            supportedProfile: [VITAL_SIGNS_PROFILE],
            interaction: readSearch,
            searchParam: [
              param('patient', 'reference', 'Required: the patient whose readings are searched.'),
              param('code', 'token', 'LOINC code (or system|code); comma means or.'),
              param(
                'date',
                'date',
                'effectiveDateTime with ge, gt, le, lt; at most 31 days (the last 31 days by default).',
              ),
              param('_sort', 'string', '`date` (oldest first, the default) or `-date`.'),
              COUNT,
            ],
          },
          {
            type: 'Communication',
            interaction: readSearch,
            searchParam: [
              param(
                'patient',
                'reference',
                'Required: the patient whose record the care-team messages were filed to (oldest first).',
              ),
              COUNT,
            ],
          },
        ],
      },
    ],
  };
}
