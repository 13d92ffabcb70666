// Push to the EHR (docs/FHIR.md): the destination answers over verified TLS, the hub can
// authorize there (and keeps its key or token file to itself), the outbox is moving, and nothing
// the EHR refused waits unseen. Not applicable while push is off (except a queue left behind).
import { statSync } from 'node:fs';
import { EhrClient, errorName } from '../../fhir/ehr-client.js';
import { PushOutbox } from '../../fhir/push-outbox.js';
import { EHR_DESTINATION, ehrDestination } from '../ehr-push.js';
import {
  fail,
  listIds,
  notApplicable,
  pass,
  warn,
  type CheckContext,
  type DeploymentCheck,
} from './check.js';

const references = {
  owasp: 'Interface/central station security',
  hipaa: '164.312(e)(1) Transmission security',
};
const OFF = 'push to the EHR is off (VITALGATE_EHR_PUSH_URL is not set)';

async function withClient<T>(
  ctx: CheckContext,
  fn: (client: EhrClient) => Promise<T>,
): Promise<T | undefined> {
  let destination;
  try {
    destination = ehrDestination(ctx.config);
  } catch (err) {
    throw new Error(`the CA file VITALGATE_EHR_PUSH_CA_FILE cannot be read (${errorName(err)})`);
  }
  if (!destination) return undefined;
  const client = new EhrClient(destination, () => ctx.now);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export const ehrReachable: DeploymentCheck = {
  id: 'VG-FHIR-001',
  title: 'The EHR push destination answers over verified TLS',
  severity: 'high',
  verifies:
    'The configured EHR FHIR endpoint answers GET metadata with an R4 CapabilityStatement over TLS whose certificate chains to the configured CA (or the system CAs).',
  how: 'Requests {VITALGATE_EHR_PUSH_URL}/metadata the way the push sender connects, and reads the status and fhirVersion.',
  references,
  async run(ctx) {
    try {
      const answer = await withClient(ctx, (client) => client.metadata());
      if (!answer) return notApplicable(OFF);
      if (answer.status !== 200 || !answer.fhirVersion?.startsWith('4.0'))
        return fail(
          `${ctx.config.ehrPushUrl}/metadata answered HTTP ${answer.status}${answer.fhirVersion ? `, fhirVersion ${answer.fhirVersion}` : ''}`,
          'Point VITALGATE_EHR_PUSH_URL at the EHR’s FHIR R4 base URL (the one its CapabilityStatement is under).',
        );
      return pass(`${ctx.config.ehrPushUrl} answers metadata (FHIR ${answer.fhirVersion}) over verified TLS`);
    } catch (err) {
      return fail(
        `${ctx.config.ehrPushUrl ?? 'the EHR'} is not reachable over verified TLS: ${err instanceof Error && err.message.startsWith('the CA file') ? err.message : errorName(err)}`,
        'Check the URL and the network path; if the EHR’s certificate is from a private CA, put that CA in VITALGATE_EHR_PUSH_CA_FILE. Resources wait in the outbox meanwhile.',
      );
    }
  },
};

/** A file only its owner can read: no group or other permission bits. */
function ownerOnly(file: string): boolean {
  return (statSync(file).mode & 0o077) === 0;
}

export const ehrAuthorized: DeploymentCheck = {
  id: 'VG-FHIR-002',
  title: 'The hub can authorize at the EHR, and keeps its key or token file to itself',
  severity: 'high',
  verifies:
    'With SMART, the EHR’s token endpoint grants this hub a token for its signed assertion (fail otherwise); the private key or bearer token file is readable by its owner only (warn otherwise).',
  how: 'Asks the token endpoint for a token as the push sender does (or reads the bearer token file), and reads the file’s permission bits.',
  references: { ...references, hipaa: '164.312(d) Person or entity authentication' },
  async run(ctx) {
    const { config } = ctx;
    if (!config.ehrPushUrl) return notApplicable(OFF);
    const file = config.ehrPushBearerTokenFile ?? config.ehrPushKeyFile!;
    const kind = config.ehrPushBearerTokenFile ? 'bearer token file' : 'push key file';
    try {
      await withClient(ctx, (client) => client.accessToken());
    } catch (err) {
      return fail(
        config.ehrPushBearerTokenFile
          ? `the bearer token file gives no token: ${errorName(err)}`
          : `the EHR’s token endpoint did not grant a token to client ${config.ehrPushClientId}: ${errorName(err)}`,
        'Register this hub’s public key (the pair of VITALGATE_EHR_PUSH_KEY_FILE) and scopes with the EHR for that client id, or put a valid token in the bearer token file.',
      );
    }
    if (!ownerOnly(file))
      return warn(
        `the ${kind} ${file} can be read by other users`,
        `chmod 600 ${file} (and keep it owned by the account the hub runs as).`,
      );
    return pass(
      config.ehrPushBearerTokenFile
        ? 'the bearer token file holds a token and is readable by its owner only'
        : `the EHR granted client ${config.ehrPushClientId} a token; the key file is readable by its owner only`,
    );
  },
};

export const ehrQueueMoving: DeploymentCheck = {
  id: 'VG-FHIR-003',
  title: 'The EHR push queue is not stuck',
  severity: 'high',
  verifies:
    'No resource has waited in the push outbox longer than VITALGATE_EHR_PUSH_STUCK_MINUTES (fail), and no queue is left behind when push is off (warn).',
  how: 'Reads the age of the oldest pending item of the outbox in the control plane.',
  references: { ...references, hipaa: '164.312(c)(1) Integrity' },
  run({ config, store, keyring, now }) {
    const stats = new PushOutbox(store.db, keyring, () => now).stats(EHR_DESTINATION);
    if (!config.ehrPushUrl)
      return stats.pending > 0
        ? warn(
            `${stats.pending} resources wait in the push outbox but push is off`,
            'Set VITALGATE_EHR_PUSH_URL (and its authorization) again so they are sent.',
          )
        : notApplicable(OFF);
    if (stats.oldestPendingAt === null) return pass('nothing waits in the push outbox');
    const minutes = Math.floor((now - stats.oldestPendingAt) / 60_000);
    if (minutes > config.ehrPushStuckMinutes)
      return fail(
        `${stats.pending} resources wait; the oldest for ${minutes} minutes (limit ${config.ehrPushStuckMinutes})`,
        'See why with `vitalgate fhir-push status` and the hub log (HTTP statuses and codes); VG-FHIR-001 and VG-FHIR-002 name the usual causes.',
      );
    return pass(`${stats.pending} resources wait; the oldest for ${minutes} minutes`);
  },
};

export const ehrNothingSetAside: DeploymentCheck = {
  id: 'VG-FHIR-004',
  title: 'No resource the EHR refused waits unseen',
  severity: 'medium',
  verifies: 'The push outbox holds no item set aside after a refusal by the EHR or too many tries.',
  how: 'Counts the set-aside items of the outbox in the control plane.',
  references: { ...references, hipaa: '164.312(c)(1) Integrity' },
  run({ store, keyring, now }) {
    const dead = new PushOutbox(store.db, keyring, () => now).deadLetters(EHR_DESTINATION);
    if (dead.length === 0) return pass('no pushed resource is set aside');
    return warn(
      `${dead.length} resources set aside: ${listIds(dead.map((d) => `#${d.id} ${d.resourceType} (${d.error})`))}`,
      'Read each with `vitalgate fhir-push status`, fix the cause with the EHR’s team, then `vitalgate fhir-push retry ID` (or --all).',
    );
  },
};

export const FHIR_PUSH_CHECKS: readonly DeploymentCheck[] = [
  ehrReachable,
  ehrAuthorized,
  ehrQueueMoving,
  ehrNothingSetAside,
];
