// The console's one way to the API: same-origin fetch with the session cookie (httpOnly,
// SameSite=Strict; the script never sees the token). Writes are same-origin POSTs, which browsers
// send with an Origin header: the API's CSRF rule accepts exactly that. Nothing is cached.
import { sentenceFor } from './messages.js';
import { POSITION_HEADER, positionHeader, sharePosition } from './position.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: Record<string, unknown> | undefined,
  ) {
    super(sentenceFor(code));
  }
}

type Listener = (error: ApiError) => void;

export class ApiClient {
  private readonly signedOutListeners = new Set<Listener>();
  /** Asked when the API wants a fresh second factor; true: the session stepped up, retry. */
  private stepUp: ((error: ApiError) => Promise<boolean>) | undefined;
  /** Called on every answered request: the server counts it as activity. */
  onActivity: () => void = () => {};

  /** Called when the API says the session is gone (ended elsewhere, idle, expired). */
  onSignedOut(listener: Listener): void {
    this.signedOutListeners.add(listener);
  }

  /** Sensitive actions answered STEP_UP_REQUIRED are retried once after `handler` resolves true. */
  onStepUp(handler: (error: ApiError) => Promise<boolean>): void {
    this.stepUp = handler;
  }

  /** Whether to retry after asking for a step-up (never for the step-up's own requests). */
  private async steppedUp(error: ApiError, path: string): Promise<boolean> {
    if (error.code !== 'STEP_UP_REQUIRED' || !this.stepUp || path.startsWith('/auth/step-up')) return false;
    return this.stepUp(error);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, body, signal);
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    retried = false,
  ): Promise<T> {
    const position = positionHeader();
    let response: Response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(position ? { [POSITION_HEADER]: position } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'NETWORK', undefined);
    }
    if (response.ok) this.onActivity();
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const e = (json as { error?: { code?: string; details?: Record<string, unknown> } } | undefined)?.error;
      const error = new ApiError(response.status, e?.code ?? 'UNKNOWN', e?.details);
      // The role's PHI needs the site geofence's position: ask the browser for it
      // from now on, and draw the page again once it is known.
      if (error.code === 'GEOFENCE_POSITION_REQUIRED')
        sharePosition(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
      // A refused factor (code, passkey) is an answer to show, not a sign-out.
      const authStep =
        path.startsWith('/auth/login') ||
        path === '/auth/mfa' ||
        path.startsWith('/auth/passkey') ||
        path.startsWith('/auth/step-up');
      if (response.status === 401 && !authStep) for (const l of this.signedOutListeners) l(error);
      if (!retried && (await this.steppedUp(error, path)))
        return this.request<T>(method, path, body, signal, true);
      throw error;
    }
    return json as T;
  }

  /** A text download (FHIR bundle) as a Blob, with the same cookie. */
  async download(path: string, retried = false): Promise<Blob> {
    const response = await fetch(`/api/v1${path}`, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) {
      const e = (
        (await response.json().catch(() => ({}))) as {
          error?: { code?: string; details?: Record<string, unknown> };
        }
      ).error;
      const error = new ApiError(response.status, e?.code ?? 'UNKNOWN', e?.details);
      if (!retried && (await this.steppedUp(error, path))) return this.download(path, true);
      throw error;
    }
    this.onActivity();
    return response.blob();
  }
}
