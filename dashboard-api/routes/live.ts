// The live stream (Server-Sent Events) of one patient's new readings and alert changes. The
// stream ends when the session ends (logout, revocation: at once; idle or absolute expiry: at
// the next check) or when the viewer loses access to the patient (assignment removed,
// break-glass expired). The stream itself does not count as activity for the idle timeout.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import type { LiveEvent } from '../ports.js';
import { startEventStream } from './event-stream.js';

export function openLiveStream(
  ctx: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  patientId: string,
): void {
  const principal = request.principal!;
  const res = startEventStream(reply);
  ctx.metrics.liveStreams.inc();
  const opened = ctx.now();
  let sent = 0;
  let closed = false;

  const send = (event: string, data: unknown) => {
    sent += 1;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const unsubscribe = ctx.telemetry.subscribe((event: LiveEvent) => {
    if (event.patientId !== patientId) return;
    if (event.kind === 'reading') {
      const { ts, deviceId, type, values } = event.point;
      send('reading', { ts, deviceId, type, ...values });
    } else {
      const a = event.alert;
      send('alert', {
        change: event.change,
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        status: a.status,
        deviceId: a.deviceId,
        raisedAt: a.raisedAt,
        clearedAt: a.clearedAt,
      });
    }
  });
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    ctx.liveStreams.delete(close);
    unsubscribe();
    clearInterval(timer);
    ctx.sessions.off('ended', onEnded);
    ctx.metrics.liveStreams.dec();
    if (!res.writableEnded) {
      res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      res.end();
    }
    ctx.store.audit.append({
      actor: `user:${principal.username}`,
      action: 'phi.live.close',
      target: `patient:${patientId}`,
      outcome: 'success',
      source: request.ip,
      details: { reason, events: sent, durationMs: ctx.now() - opened },
    });
  };
  const onEnded = (hash: string) => {
    if (hash === principal.sessionHash) close('session_ended');
  };
  ctx.sessions.on('ended', onEnded);
  ctx.liveStreams.add(close);
  const timer = setInterval(() => {
    if (!ctx.sessions.isLive(principal.sessionHash)) return close('session_expired');
    if (!ctx.guard.basis(principal.username, patientId)) return close('access_ended');
    res.write(': keep-alive\n\n');
  }, ctx.deps.liveCheckMs ?? 5_000);
  timer.unref();
  request.raw.on('close', () => close('client_closed'));
}
