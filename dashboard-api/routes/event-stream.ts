// The opening of a Server-Sent Events answer, shared by the live streams: the reply is taken over
// from Fastify (keeping the security headers it set), and the stream is announced.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export function startEventStream(reply: FastifyReply): ServerResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') headers[k] = v;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 5000\n: stream open\n\n`);
  return res;
}
