// What operators see of push to the EHR (the API's GET /api/v1/fhir-push and the CLI's
// `fhir-push status --json` give this same document): whether push is on and where to, the
// queue, and the items set aside. Ids, types, times and error codes only; no clinical content.
import type { DeadLetter, PushOutbox } from './push-outbox.js';

export interface PushStatus {
  enabled: boolean;
  destination: { name: string; baseUrl: string | null };
  pending: number;
  setAside: number;
  oldestPendingAt: string | null;
  oldestPendingSeconds: number | null;
  setAsideItems: DeadLetter[];
}

export function pushStatus(
  outbox: PushOutbox,
  destination: string,
  baseUrl: string | undefined,
  now: number,
): PushStatus {
  const stats = outbox.stats(destination);
  return {
    enabled: baseUrl !== undefined,
    destination: { name: destination, baseUrl: baseUrl ?? null },
    pending: stats.pending,
    setAside: stats.dead,
    oldestPendingAt: stats.oldestPendingAt === null ? null : new Date(stats.oldestPendingAt).toISOString(),
    oldestPendingSeconds:
      stats.oldestPendingAt === null ? null : Math.max(0, Math.round((now - stats.oldestPendingAt) / 1000)),
    setAsideItems: outbox.deadLetters(destination),
  };
}
