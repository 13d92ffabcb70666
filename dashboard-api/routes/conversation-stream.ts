// The live stream (Server-Sent Events) of a clinician's conversations: notices of new messages,
// recalls, expiries, receipts and escalations addressed to them, as ids with no text and no
// patient ("new urgent message about a patient"); the console then fetches the messages through
// the PHI gate. The stream ends when the session ends or the server closes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MessagingEvent } from '../../messaging/feed.js';
import type { ApiContext } from '../context.js';
import { startEventStream } from './event-stream.js';

/** The PHI-free line a notification shows. */
export function noticeText(event: MessagingEvent): string | undefined {
  if (event.kind === 'message') {
    const what = event.priority === 'urgent' ? 'New urgent message' : 'New message';
    return event.aboutPatient ? `${what} about a patient` : `${what} from a colleague`;
  }
  if (event.kind === 'escalation')
    return event.aboutPatient ? 'Urgent message about a patient is unread' : 'Urgent message is unread';
  return undefined;
}

export function openConversationStream(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply): void {
  const principal = request.principal!;
  const res = startEventStream(reply);
  let closed = false;
  const unsubscribe = ctx.messaging.feed.subscribe(principal.username, (event) => {
    const notice = noticeText(event);
    res.write(
      `event: ${event.kind}\ndata: ${JSON.stringify({ ...event, ...(notice ? { notice } : {}) })}\n\n`,
    );
  });
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    ctx.liveStreams.delete(close);
    unsubscribe();
    clearInterval(timer);
    ctx.sessions.off('ended', onEnded);
    if (!res.writableEnded) {
      res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      res.end();
    }
  };
  const onEnded = (hash: string) => {
    if (hash === principal.sessionHash) close('session_ended');
  };
  ctx.sessions.on('ended', onEnded);
  ctx.liveStreams.add(close);
  const timer = setInterval(() => {
    if (!ctx.sessions.isLive(principal.sessionHash)) return close('session_expired');
    res.write(': keep-alive\n\n');
  }, ctx.deps.liveCheckMs ?? 5_000);
  timer.unref();
  request.raw.on('close', () => close('client_closed'));
}
