// What `vitalgate demo` sets up for a first look at the console: once the demo fleet has
// registered its patients, a clinician account assigned to a few of them, with its one-time
// password printed once (a later demo names the account and how to get a new password).
import type { HubConfig } from '../../core/config.js';
import { cliActor, type CliIo } from '../cli-kit.js';
import { openContext } from '../context.js';
import { createUser } from './user.js';

export const DEMO_CLINICIAN = 'demo.nurse';
const DEMO_ASSIGNED = 3;

/** Waits (up to `timeoutMs`) for the fleet's patients, then creates and assigns the clinician. */
export async function setUpDemoClinician(
  config: HubConfig,
  io: CliIo,
  signal: AbortSignal,
  json = false,
  timeoutMs = 120_000,
): Promise<void> {
  const ctx = openContext(config);
  try {
    const deadline = Date.now() + timeoutMs;
    let patients = ctx.store.patients.list().filter((p) => p.erasedAt === null);
    while (patients.length < DEMO_ASSIGNED && Date.now() < deadline && !signal.aborted) {
      // The fleet registers its patients before its devices enrol: a short wait on the store.
      await new Promise((resolve) => setTimeout(resolve, 500));
      patients = ctx.store.patients.list().filter((p) => p.erasedAt === null);
    }
    if (signal.aborted || patients.length === 0) return;
    if (ctx.store.users.get(DEMO_CLINICIAN)) {
      if (json) return;
      io.out(
        `demo clinician: ${DEMO_CLINICIAN} (set up by an earlier demo; "vitalgate user reset-password ${DEMO_CLINICIAN}" prints a new one-time password)`,
      );
      return;
    }
    const { oneTimePassword } = await createUser(ctx.store, DEMO_CLINICIAN, 'clinician', cliActor());
    const assigned = patients
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, DEMO_ASSIGNED)
      .map((p) => p.id);
    for (const id of assigned) {
      ctx.store.patients.assign(id, DEMO_CLINICIAN);
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'patient.assign',
        target: `patient:${id}`,
        outcome: 'success',
        details: { username: DEMO_CLINICIAN },
      });
    }
    if (json) {
      io.json({ demoClinician: { username: DEMO_CLINICIAN, oneTimePassword, patients: assigned } });
      return;
    }
    io.out(`demo clinician: ${DEMO_CLINICIAN}, assigned to ${assigned.length} of the demo patients`);
    io.out(`one-time password (shown once, change it at first login): ${oneTimePassword}`);
  } finally {
    ctx.close();
  }
}
