// The worker thread of control-plane-copy.ts: compacts and checks a control-plane copy.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, isVitalGateError } from '../../core/errors.js';
import { compactAndInspect, type WorkerReply } from './control-plane-copy.js';

let reply: WorkerReply;
try {
  reply = { ok: true, facts: compactAndInspect((workerData as { file: string }).file) };
} catch (err) {
  reply = isVitalGateError(err)
    ? { ok: false, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
    : {
        ok: false,
        code: 'BACKUP_VERIFY_FAILED',
        message: `control-plane check failed: ${describeError(err)}`,
      };
}
parentPort?.postMessage(reply);
