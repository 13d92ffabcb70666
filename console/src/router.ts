// Hash routes (`#/patients/pat_…`): the page is always `/`, so the hub serves one file and the
// browser never sends a path with a patient id to anything. A route is matched against the
// pages' patterns; a page of another role, or any page while signed out, is refused before the
// page runs, so it never fetches anything.
import type { Page } from './page.js';

export interface Match {
  page: Page;
  params: Record<string, string>;
  query: URLSearchParams;
}

export function currentPath(): string {
  const hash = location.hash.replace(/^#/, '');
  return hash.startsWith('/') ? hash : '/';
}

export function match(pages: readonly Page[], fullPath: string): Match | null {
  const [path = '/', search = ''] = fullPath.split('?');
  const parts = path.split('/').filter(Boolean);
  for (const page of pages) {
    const pattern = page.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    pattern.forEach((segment, i) => {
      const part = parts[i]!;
      if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(part);
      else if (segment !== part) ok = false;
    });
    if (ok) return { page, params, query: new URLSearchParams(search) };
  }
  return null;
}

export function navigate(path: string): void {
  if (currentPath() === path) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = `#${path}`;
}
