// The API over a test PKI with nothing else of the hub: no broker, no ingest (an empty live
// feed), a silent logger, and the telemetry reader the caller brings. For API tests and the
// benches that need a real API without a running hub.
import { Registry } from 'prom-client';
import { silentLogger } from '../../core/logger.js';
import { buildApiServer, type ApiDeps } from '../../dashboard-api/server.js';
import { DeviceLifecycle } from '../../pki/lifecycle.js';
import type { TestPki } from './hub-pki.js';

export function apiOverTestPki(
  pki: TestPki,
  telemetry: ApiDeps['telemetry'],
  extra: Partial<ApiDeps> = {},
): ReturnType<typeof buildApiServer> {
  return buildApiServer({
    config: pki.config,
    store: pki.store,
    keyring: pki.keyring,
    authority: pki.authority,
    lifecycle: new DeviceLifecycle(pki.store, pki.authority),
    registry: new Registry(),
    telemetry,
    live: { subscribe: () => () => {} },
    logger: silentLogger(),
    ...extra,
  });
}
