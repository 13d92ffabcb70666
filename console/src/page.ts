// What a page is. Each page of the console is one file in pages/ that exports a Page, listed
// once in pages/index.ts: the router, the navigation and the role gate come from that object.
import type { ApiClient } from './api.js';

export type Role = 'admin' | 'clinician' | 'engineer' | 'auditor';

export interface Session {
  username: string;
  role: Role;
  expiresAt: string;
  idleTimeoutSeconds: number;
  /** The role requires passkeys and the user has none yet: only the passkeys page opens. */
  passkeyRequired?: boolean;
}

export interface PageView {
  /** Where the page draws; emptied before each render. */
  root: HTMLElement;
  /** `:name` parts of the path. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  api: ApiClient;
  /** null only on public pages (sign-in). */
  session: Session | null;
  /** Aborted when the user leaves the page: stop timers, streams and fetches with it. */
  signal: AbortSignal;
  navigate(path: string): void;
  /** Called by sign-in once a session exists. */
  signedIn(session: Session): void;
  /** Shows a banner above every page (break-glass time left); null removes it. */
  setBanner(banner: HTMLElement | null): void;
}

export interface Page {
  /** Hash path pattern, e.g. `/patients/:id`. */
  path: string;
  title: string;
  /** Who may open it; 'public' for sign-in. */
  roles: readonly Role[] | 'public';
  /** Shown in the navigation of these roles, in this order. */
  nav?: { label: string; order: number };
  render(view: PageView): void | Promise<void>;
}

/** Where each role lands after signing in. */
export const HOME_BY_ROLE: Readonly<Record<Role, string>> = {
  clinician: '/patients',
  engineer: '/devices',
  admin: '/users',
  auditor: '/audit',
};
