// `vitalgate fhir-push status|retry`: the operator's view of push to the EHR, read from the
// outbox in the control plane (the hub need not be running), and putting set-aside items back
// in the queue once the cause is fixed (a running hub sends them within a second).
import { PushOutbox } from '../../fhir/push-outbox.js';
import { pushStatus } from '../../fhir/push-status.js';
import { cliActor, usageError, type CommandSpec, type ParsedArgs } from '../cli-kit.js';
import { openContext, readConfig, type HubContext } from '../context.js';
import { EHR_DESTINATION } from '../ehr-push.js';

function withOutbox<T>(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv,
  fn: (o: PushOutbox, ctx: HubContext) => T,
): T {
  const config = readConfig(args, env);
  const ctx = openContext(config);
  try {
    return fn(new PushOutbox(ctx.store.db, ctx.keyring, Date.now), ctx);
  } finally {
    ctx.close();
  }
}

export const fhirPushStatus: CommandSpec = {
  name: 'fhir-push status',
  summary: 'Show push to the EHR: queue depth, oldest pending age, and the items set aside.',
  usage: 'fhir-push status [--json]',
  details: [
    'Set-aside items are resources the EHR refused (the error names its HTTP status and issue',
    'codes) or that failed too many times; they wait for `fhir-push retry`. No clinical content is shown.',
  ],
  options: {},
  async run(args, io) {
    const config = readConfig(args, io.env);
    const status = withOutbox(args, io.env, (outbox) =>
      pushStatus(outbox, EHR_DESTINATION, config.ehrPushUrl, Date.now()),
    );
    if (args.values.json) {
      io.json(status);
      return;
    }
    io.out(
      status.enabled
        ? `push to ${status.destination.baseUrl}: ${status.pending} pending${
            status.oldestPendingSeconds !== null ? ` (oldest ${status.oldestPendingSeconds} s)` : ''
          }, ${status.setAside} set aside`
        : `push to the EHR is off (VITALGATE_EHR_PUSH_URL is not set); ${status.pending} pending, ${status.setAside} set aside`,
    );
    for (const d of status.setAsideItems)
      io.out(`  #${d.id}  ${d.resourceType}  ${d.identifier}  ${d.attempts} tries  ${d.deadAt}  ${d.error}`);
  },
};

export const fhirPushRetry: CommandSpec = {
  name: 'fhir-push retry',
  summary: 'Put set-aside push items back in the queue (one by id, or all).',
  usage: 'fhir-push retry (ID | --all) [--json]',
  options: { all: { type: 'boolean' } },
  async run(args, io) {
    const raw = args.positionals[0];
    const all = args.values.all === true;
    if ((raw !== undefined) === all) throw usageError('give one set-aside item id, or --all');
    const id = raw === undefined ? undefined : Number(raw);
    if (id !== undefined && !(Number.isInteger(id) && id > 0))
      throw usageError(`the item id must be a positive whole number (got ${JSON.stringify(raw)})`);
    const requeued = withOutbox(args, io.env, (outbox, ctx) => {
      const n = outbox.retry(id);
      if (n > 0)
        ctx.store.audit.append({
          actor: cliActor(),
          action: 'fhir.push.retry',
          outcome: 'success',
          details: { ...(id !== undefined ? { item: id } : {}), requeued: n },
        });
      return n;
    });
    if (id !== undefined && requeued === 0) throw usageError(`no set-aside push item has id ${id}`);
    if (args.values.json) {
      io.json({ requeued });
      return;
    }
    io.out(`${requeued} push item${requeued === 1 ? '' : 's'} back in the queue`);
  },
};
