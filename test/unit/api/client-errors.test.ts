// Errors Node's HTTP parser raises before Fastify sees a request (a request that never finishes
// arriving, oversized headers, malformed HTTP) are answered with the coded body and the
// connection is closed. A real socket pair on loopback; the timeout itself is Node's (60 s in the
// API), so the error is handed to the handler here as Node hands it.
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusForCode } from '../../../dashboard-api/http-errors.js';
import { answerClientError, describeRequestError } from '../../../dashboard-api/request-errors.js';

let server: ReturnType<typeof createServer>;
let port: number;
const accepted: Socket[] = [];
beforeAll(async () => {
  server = createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(() => {
  for (const socket of accepted) socket.destroy();
  server.close();
});

async function answerTo(code: string): Promise<string> {
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  await new Promise((r) => setImmediate(r));
  const serverSide = accepted.at(-1)!;
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(client, 'close');
  answerClientError(Object.assign(new Error('client error'), { code }), serverSide);
  await closed;
  return Buffer.concat(chunks).toString('utf8');
}

describe('answers to HTTP parser errors', () => {
  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'REQUEST_TIMEOUT'],
    ['HPE_HEADER_OVERFLOW', 431, 'HEADERS_TOO_LARGE'],
    ['HPE_INVALID_METHOD', 400, 'BAD_REQUEST'],
  ])('%s: %i %s, coded, then closed', async (code, status, ours) => {
    const text = await answerTo(code);
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(text).toContain('Connection: close');
    const body = JSON.parse(text.split('\r\n\r\n')[1]!) as unknown;
    expect(body).toEqual({ error: { code: ours, message: expect.any(String) } });
  });
});

describe('router errors', () => {
  it.each([
    ['FST_ERR_MAX_PARAM_LENGTH', 'URI_TOO_LONG', 414],
    ['FST_ERR_BAD_URL', 'URL_INVALID', 400],
  ])('%s is %s (%i) and quotes nothing', (fastifyCode, ours, status) => {
    const described = describeRequestError(
      Object.assign(new Error("'/api/v1/devices/quoted' is not valid"), { code: fastifyCode }),
    ) as { code: string; message: string };
    expect(described.code).toBe(ours);
    expect(described.message).not.toContain('quoted');
    expect(statusForCode(ours)).toBe(status);
  });

  it('a generic 4xx from a plugin is a 400, not an internal error', () => {
    const described = describeRequestError(Object.assign(new Error('x'), { statusCode: 406 })) as {
      code: string;
    };
    expect(described.code).toBe('BAD_REQUEST');
    expect(statusForCode('BAD_REQUEST')).toBe(400);
    expect(statusForCode('SHUTTING_DOWN')).toBe(503);
  });
});
