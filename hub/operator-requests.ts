// What the CLI asks of the running hub (the hub owns the device sessions, the signed command path
// and the keyring's caches): a wipe or disable that must reach the device, a ping or config, a
// patient erasure. The CLI queues a request in the control plane (core/store/hub-requests.ts); the
// hub claims it within a quarter second, carries it out exactly as the API does, and writes the
// result (or the coded error) back for the CLI to print. Requests a stopped hub left unfinished are
// marked failed at the next start; finished ones are kept for a week.
import { VitalGateError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PatientErasure } from '../core/patient-erasure.js';
import type { HubRequest, HubRequestRepository } from '../core/store/hub-requests.js';
import type { DeviceCommands } from '../dashboard-api/services/device-commands.js';
import type { DeviceLifecycle } from '../pki/lifecycle.js';

export const HUB_REQUEST_POLL_MS = 250;
const KEEP_FINISHED_MS = 7 * 86_400_000;

/** The requests the running hub carries out, as the CLI queues them. */
export type OperatorRequest =
  | { kind: 'device.lifecycle'; target: string; params: { action: 'wipe' | 'disable'; reason: string } }
  | {
      kind: 'device.command';
      target: string;
      params: ({ type: 'ping' } | { type: 'config'; settings: Record<string, unknown> }) & { ttlMs?: number };
    }
  | { kind: 'patient.erase'; target: string; params: { reason: string; confirm: string } };

export interface OperatorRequestDeps {
  requests: HubRequestRepository;
  lifecycle: DeviceLifecycle;
  deviceCommands: DeviceCommands;
  erasure: PatientErasure;
  logger: Logger;
}

export class OperatorRequestDesk {
  private timer: NodeJS.Timeout | undefined;
  private polls = 0;

  constructor(private readonly deps: OperatorRequestDeps) {}

  start(): void {
    const abandoned = this.deps.requests.failAbandoned({
      code: 'HUB_STOPPED',
      message: 'the hub stopped before the request finished; see the audit log for what was done',
    });
    if (abandoned > 0)
      this.deps.logger.warn({ abandoned }, 'operator requests left unfinished by a stopped hub');
    this.deps.requests.pruneFinished(Date.now() - KEEP_FINISHED_MS);
    this.timer = setInterval(() => this.poll(), HUB_REQUEST_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    try {
      if (++this.polls % 14_400 === 0) this.deps.requests.pruneFinished(Date.now() - KEEP_FINISHED_MS);
      for (let request = this.deps.requests.claimNext(); request; request = this.deps.requests.claimNext())
        void this.carryOut(request);
    } catch (err) {
      this.deps.logger.error({ err: describeError(err) }, 'operator request queue failed');
    }
  }

  private async carryOut(request: HubRequest): Promise<void> {
    let state: 'done' | 'failed' = 'done';
    let result: Record<string, unknown>;
    try {
      result = await this.handle(request);
    } catch (err) {
      state = 'failed';
      if (err instanceof VitalGateError) result = { code: err.code, message: err.message };
      else {
        this.deps.logger.error({ err: describeError(err), request: request.id }, 'operator request failed');
        result = { code: 'INTERNAL_ERROR', message: 'the hub could not carry out the request (see its log)' };
      }
    }
    try {
      this.deps.requests.finish(request.id, state, result);
    } catch (err) {
      this.deps.logger.error(
        { err: describeError(err), request: request.id },
        'operator request not recorded',
      );
    }
  }

  private async handle(request: HubRequest): Promise<Record<string, unknown>> {
    const { lifecycle, deviceCommands, erasure } = this.deps;
    const params = request.params;
    switch (request.kind) {
      case 'device.lifecycle': {
        const action = params.action;
        if (action !== 'wipe' && action !== 'disable')
          throw new VitalGateError('REQUEST_INVALID', 'unknown lifecycle request');
        return lifecycle.apply(request.target, action, params.reason, request.actor, 'cli');
      }
      case 'device.command': {
        const command =
          params.type === 'config'
            ? { type: 'config' as const, settings: (params.settings ?? {}) as Record<string, unknown> }
            : { type: 'ping' as const };
        const ttlMs = typeof params.ttlMs === 'number' ? params.ttlMs : undefined;
        return { ...(await deviceCommands.send(request.target, command, request.actor, ttlMs)) };
      }
      case 'patient.erase':
        return {
          ...erasure.erase(
            { patientId: request.target, confirm: params.confirm, reason: params.reason },
            request.actor,
            'cli',
          ),
        };
      default:
        throw new VitalGateError('REQUEST_INVALID', `the hub does not know requests of kind ${request.kind}`);
    }
  }
}
