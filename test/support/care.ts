// One hub's alert parts on a SQLite database, without the network: the control plane, a
// keyring, the ingest's bus and alert evaluator (settings not cached), and the alert lifecycle,
// all on the given clock. A second call on the same database is a restarted hub.
import { AlertLifecycle } from '../../care/alert-lifecycle.js';
import { Keyring } from '../../core/keyring.js';
import { AlertParameterRepository, HomePointRepository } from '../../core/store/alert-settings.js';
import { ControlPlane } from '../../core/store/control-plane.js';
import type { Db } from '../../core/store/database.js';
import { AlertSettings } from '../../ingest/alert-settings.js';
import { AlertBus, AlertEvaluator } from '../../ingest/alerts.js';

export function alertParts(db: Db, now: () => number) {
  const store = new ControlPlane(db, now);
  const keyring = new Keyring(db, Buffer.alloc(32, 7));
  const bus = new AlertBus();
  const settings = new AlertSettings({
    parameters: new AlertParameterRepository(db),
    homes: new HomePointRepository(db),
    keyring,
    cacheMs: 0,
    now,
  });
  const evaluator = new AlertEvaluator({ alerts: store.alerts, settings, bus });
  const lifecycle = new AlertLifecycle({ store, keyring, bus, now });
  return { store, keyring, bus, evaluator, lifecycle };
}
