// What both FHIR tests need around fhir-kit-client: a client of the test hub's FHIR server (its
// fetch gets the hub CA through an undici dispatcher), the FHIR id of a patient, and the
// OperationOutcome of a refused request.
import { Client } from 'fhir-kit-client';
import type { Agent } from 'undici';

export type Outcome = { resourceType: string; issue: { details: { coding: { code: string }[] } }[] };

export const fhirId = (patientId: string) => patientId.replaceAll('_', '.');

export function fhirClient(port: number, dispatcher: Agent, bearer: string): Client {
  return new Client({
    baseUrl: `https://localhost:${port}/fhir/R4`,
    bearerToken: bearer,
    requestOptions: { dispatcher },
  });
}

/** The status and OperationOutcome of a request that must be refused. */
export async function refusal(promise: Promise<unknown>): Promise<{ status: number; outcome: Outcome }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { response: { status: number; data: Outcome } };
    return { status: e.response.status, outcome: e.response.data };
  }
  throw new Error('expected a refusal');
}

export function errorCode(outcome: Outcome): string {
  return outcome.issue[0]!.details.coding[0]!.code;
}
