// The check context of a test hub: its config, store, keyring, master key and CA.
import type { CheckContext } from '../../hub/checks/check.js';
import type { TestPki } from './hub-pki.js';

export function checkContext(pki: TestPki, overrides: Partial<CheckContext> = {}): CheckContext {
  return {
    config: pki.config,
    store: pki.store,
    keyring: pki.keyring,
    masterKey: pki.masterKey,
    authority: pki.authority,
    now: Date.now(),
    ...overrides,
  };
}
