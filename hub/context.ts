// Opens what every hub command needs: validated config, the master key, the keyring and the
// control plane. The composition root for services lives in hub/services.ts.
import { existsSync } from 'node:fs';
import { loadConfig, type HubConfig } from '../core/config.js';
import { VitalGateError } from '../core/errors.js';
import { Keyring, loadMasterKey, masterKeyCheck, type MasterKeySource } from '../core/keyring.js';
import { MASTER_KEY_CHECK, pendingRotation } from '../core/master-key-rotation.js';
import { ControlPlane } from '../core/store/control-plane.js';

export interface HubContext {
  config: HubConfig;
  masterKey: MasterKeySource;
  keyring: Keyring;
  store: ControlPlane;
  close(): void;
}

export const INITIALIZED_KEY = 'initialized_at';

export function readConfig(args: { values: Record<string, unknown> }, env: NodeJS.ProcessEnv): HubConfig {
  const file = typeof args.values.config === 'string' ? args.values.config : undefined;
  return loadConfig({ env, ...(file ? { file } : {}) });
}

/**
 * `rotation`: opened by `keys rotate-master`, which may find a rotation under way (every other
 * command refuses then) and may be holding the new key already.
 */
export function openContext(
  config: HubConfig,
  options: { create?: boolean; rotation?: boolean } = {},
): HubContext {
  if (!options.create && !existsSync(config.dataDir)) {
    throw new VitalGateError('NOT_INITIALIZED', `no hub in ${config.dataDir}: run "vitalgate init" first`);
  }
  const masterKey = loadMasterKey({
    dataDir: config.dataDir,
    ...(config.masterKey ? { base64: config.masterKey } : {}),
    create: options.create ?? false,
  });
  const store = ControlPlane.open(config.dataDir);
  const keyring = new Keyring(store.db, masterKey.key);
  if (!options.create && store.meta.get(INITIALIZED_KEY) === undefined) {
    store.close();
    throw new VitalGateError(
      'NOT_INITIALIZED',
      `the hub in ${config.dataDir} is not initialised: run "vitalgate init"`,
    );
  }
  const check = masterKeyCheck(masterKey.key);
  const recorded = store.meta.get(MASTER_KEY_CHECK);
  const rotation = pendingRotation(store.db);
  if (rotation && !options.rotation) {
    store.close();
    throw new VitalGateError(
      'MASTER_KEY_ROTATION_PENDING',
      'a master key rotation was interrupted: run "vitalgate keys rotate-master --new-key FILE" again with the same new key to finish it',
    );
  }
  if (recorded === undefined) store.meta.set(MASTER_KEY_CHECK, check);
  else if (recorded !== check && !(rotation && rotation.toCheck === check)) {
    store.close();
    throw new VitalGateError(
      'MASTER_KEY_MISMATCH',
      `the master key (${masterKey.origin === 'env' ? 'VITALGATE_MASTER_KEY' : masterKey.origin}) is not the one this hub was initialised with`,
    );
  }
  return { config, masterKey, keyring, store, close: () => store.close() };
}
