// The browser's side of passkeys, through @simplewebauthn/browser: the API hands out WebAuthn
// options with a single-use challenge, the authenticator (fingerprint, face, PIN or security key)
// answers, and the answer goes back to the API, which checks everything. Nothing is stored here.
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import type { ApiClient } from './api.js';

export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

/** The authenticator refused or the user cancelled: a sentence for them. */
function ceremonyError(err: unknown): Error {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') {
    return new Error('The passkey was not used (cancelled or timed out). Try again.');
  }
  if (name === 'InvalidStateError') return new Error('This passkey is registered already.');
  return err instanceof Error && err.message ? err : new Error('The passkey did not work. Try again.');
}

/** Runs the authenticator's part; its refusals become sentences. */
async function withAuthenticator<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw ceremonyError(err);
  }
}

/** Signs in with a passkey; the API sets the session cookie. */
export async function signInWithPasskey(api: ApiClient): Promise<void> {
  const optionsJSON = await api.post<PublicKeyCredentialRequestOptionsJSON>('/auth/passkey/options');
  const response = await withAuthenticator(() => startAuthentication({ optionsJSON }));
  await api.post('/auth/passkey', { response });
}

/** Steps the session up with one of the user's passkeys. */
export async function stepUpWithPasskey(api: ApiClient): Promise<void> {
  const optionsJSON = await api.post<PublicKeyCredentialRequestOptionsJSON>('/auth/step-up/options');
  const passkey = await withAuthenticator(() => startAuthentication({ optionsJSON }));
  await api.post('/auth/step-up', { passkey });
}

/** Registers a new passkey under a name the user chose. */
export async function registerPasskey(api: ApiClient, name: string): Promise<void> {
  const optionsJSON = await api.post<PublicKeyCredentialCreationOptionsJSON>('/auth/passkeys/options');
  const response = await withAuthenticator(() => startRegistration({ optionsJSON }));
  await api.post('/auth/passkeys', { response, name });
}
