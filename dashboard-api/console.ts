// The web console (console/, built into console/dist by scripts/build-console.mjs), served on the
// API port by @fastify/static: `/` is the app's one page, `/assets/*` its bundled script, styles
// and icon. Every console response carries a strict Content-Security-Policy of its own (scripts,
// styles and connections from this origin only, nothing inline, no eval, never framed), and every
// API response carries `Cache-Control: no-store`, so no PHI is kept by the browser or a proxy.
// `/sw.js` is the service worker that shows Web Push notifications (a bundle of its own).
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VitalGateError } from '../core/errors.js';
import type { ApiApp } from './server.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Asset names the build writes: letters, digits, dots, dashes (no paths, no dot files). */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.(js|css|svg|map)$/;

/** console/dist beside the sources (a checkout) or beside the compiled hub (dist/…/console). */
export function consoleDistDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'console', 'dist'), join(here, '..', '..', 'console', 'dist')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

export async function registerConsole(app: ApiApp, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? consoleDistDir();

  // PHI must not be kept by the browser's cache or any proxy: no API answer is stored.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
    return payload;
  });

  await app.register(fastifyStatic, { root, serve: false, index: false, dotfiles: 'deny' });

  const schema = { hide: true, security: [] };

  app.get('/', { config: { access: 'public' }, schema }, async (_request, reply) => {
    if (!existsSync(join(root, 'index.html'))) {
      return reply.status(503).send({
        error: {
          code: 'CONSOLE_NOT_BUILT',
          message: 'the web console is not built: run "node scripts/build-console.mjs"',
        },
      });
    }
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .sendFile('index.html', { cacheControl: false });
  });

  // The service worker (its own bundle) at the root, so its scope is the whole console.
  app.get('/sw.js', { config: { access: 'public' }, schema }, async (_request, reply) => {
    if (!existsSync(join(root, 'assets', 'sw.js')))
      throw new VitalGateError('ROUTE_NOT_FOUND', 'no such route');
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-cache')
      .type('text/javascript; charset=utf-8')
      .sendFile(join('assets', 'sw.js'), { cacheControl: false });
  });

  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    { config: { access: 'public' }, schema },
    async (request, reply) => {
      const name = request.params.name;
      if (!ASSET_NAME.test(name) || !existsSync(join(root, 'assets', name))) {
        throw new VitalGateError('ROUTE_NOT_FOUND', 'no such route');
      }
      return reply
        .header('content-security-policy', CONSOLE_CSP)
        .header('cache-control', 'no-cache')
        .sendFile(join('assets', name), { cacheControl: false });
    },
  );
}
