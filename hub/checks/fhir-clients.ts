// FHIR system clients (SMART Backend Services) hold what they need and no more: no wildcard
// scope (`system/*`), and keys registered within the last year (a client whose keys are older
// should rotate them: register the new keys and retire the old client).
import { FhirClientRepository } from '../../fhir/smart-clients.js';
import { listIds, pass, warn, type DeploymentCheck } from './check.js';

/** How old a system client's registered keys may be. */
export const FHIR_CLIENT_KEY_MAX_AGE_MS = 365 * 86_400_000;

export const fhirClientsNarrow: DeploymentCheck = {
  id: 'VG-API-011',
  title: 'FHIR system clients have narrow scopes and current keys',
  severity: 'medium',
  verifies:
    'No enabled FHIR system client holds a wildcard scope (system/*), and none has keys registered more than 365 days ago.',
  how: 'Reads the registered SMART Backend Services clients (scopes and registration time) from the control plane.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(a)(1) Access control',
  },
  run({ store, now }) {
    const clients = new FhirClientRepository(store.db, store.audit, () => now)
      .list()
      .filter((c) => c.disabledAt === null);
    if (clients.length === 0) return pass('no FHIR system clients are registered');
    const wide = clients.filter((c) => c.scopes.some((s) => s.startsWith('system/*')));
    const old = clients.filter((c) => now - c.createdAt > FHIR_CLIENT_KEY_MAX_AGE_MS);
    const problems = [
      ...(wide.length ? [`wildcard scopes: ${listIds(wide.map((c) => `${c.id} (${c.name})`))}`] : []),
      ...(old.length ? [`keys older than 365 days: ${listIds(old.map((c) => `${c.id} (${c.name})`))}`] : []),
    ];
    if (problems.length) {
      return warn(
        problems.join('; '),
        'Register each client again with only the resource types it reads (vitalgate fhir-client add --scope system/Observation.rs …) and fresh keys, and move the integration to the new client id.',
      );
    }
    return pass(`${clients.length} FHIR system clients, each with named scopes and keys under a year old`);
  },
};
