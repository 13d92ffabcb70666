// The CLI's way to the running hub of its data dir: a request queued in the control plane
// (hub/operator-requests.ts), then the result the hub writes back. The hub is known to run from
// its state file (hub.json, with a live pid). A request no hub claims within a few seconds is
// cancelled, so it is carried out exactly once or not at all, and the CLI says which.
import type { HubConfig } from '../core/config.js';
import { VitalGateError } from '../core/errors.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { HubRequestRepository } from '../core/store/hub-requests.js';
import { liveHubFromStateFile } from './checks/live.js';
import type { OperatorRequest } from './operator-requests.js';

const PICKUP_MS = 5_000;
const POLL_MS = 100;

export function hubIsRunning(config: HubConfig): boolean {
  return liveHubFromStateFile(config) !== undefined;
}

/**
 * Has the running hub carry out `request` and returns its result. Throws HUB_NOT_RUNNING (with
 * `whenStopped` as the message's second half) when no hub runs, HUB_NOT_RESPONDING when the hub
 * did not take the request (nothing was done), and the hub's own coded error when it failed.
 */
export async function askRunningHub(
  config: HubConfig,
  store: ControlPlane,
  request: OperatorRequest & { actor: string },
  options: { whenStopped: string; maxWaitMs: number; pickupMs?: number },
): Promise<Record<string, unknown>> {
  if (!hubIsRunning(config))
    throw new VitalGateError(
      'HUB_NOT_RUNNING',
      `no hub is running on ${config.dataDir}: ${options.whenStopped}`,
    );
  const requests = new HubRequestRepository(store.db);
  const id = requests.enqueue({
    kind: request.kind,
    target: request.target,
    params: request.params,
    actor: request.actor,
  });
  const pickupMs = options.pickupMs ?? PICKUP_MS;
  const pickupBy = Date.now() + pickupMs;
  const finishBy = pickupBy + options.maxWaitMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const current = requests.get(id)!;
    if (current.state === 'done') return current.result ?? {};
    if (current.state === 'failed') {
      const code = typeof current.result?.code === 'string' ? current.result.code : 'HUB_REQUEST_FAILED';
      const message = typeof current.result?.message === 'string' ? current.result.message : 'the hub failed';
      throw new VitalGateError(code, message);
    }
    if (current.state === 'queued' && Date.now() > pickupBy && requests.cancelIfQueued(id))
      throw new VitalGateError(
        'HUB_NOT_RESPONDING',
        `the hub on ${config.dataDir} did not take the request within ${pickupMs / 1000} s; nothing was done`,
      );
    if (current.state === 'running' && Date.now() > finishBy)
      throw new VitalGateError(
        'HUB_STILL_WORKING',
        `the hub is still carrying out request ${id}; its outcome will be in the audit log`,
      );
  }
}
