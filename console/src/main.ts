// The console's shell: who is signed in (asked of the API, kept in memory only), the header
// and the navigation of that role, the break-glass banner slot, idle logoff, and one page at a
// time in <main>. Nothing is written to localStorage, sessionStorage or IndexedDB: reloading the
// page asks the API again, and signing out reloads the page so nothing of the last user stays
// in memory either.
import { ApiClient, ApiError } from './api.js';
import { h, notice, replace } from './dom.js';
import { IdleLogoff } from './idle.js';
import { HOME_BY_ROLE, type Page, type Session } from './page.js';
import { PAGES } from './pages/index.js';
import { currentPath, match, navigate } from './router.js';
import { watchTables } from './table-cards.js';
import { askForStepUp } from './step-up-dialog.js';

const api = new ApiClient();
let session: Session | null = null;
let idle: IdleLogoff | undefined;
let pageAbort: AbortController | undefined;
const app = document.getElementById('app')!;
const bannerSlot = h('div', { class: 'banner-slot' });
const main = h('main', { id: 'main', tabindex: '-1' });
watchTables(main);

async function loadSession(): Promise<Session | null> {
  try {
    return await api.get<Session>('/auth/session');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

async function signOut(reason: 'logout' | 'idle' | 'expired'): Promise<void> {
  idle?.stop();
  pageAbort?.abort();
  if (reason !== 'expired') await api.post('/auth/logout').catch(() => {});
  session = null;
  // A reload drops every object of the last session; the hash says why the user is here.
  location.hash = `#/login?signedOut=${reason}`;
  location.reload();
}

// A sensitive action asks for a fresh second factor in a dialog, then the API client retries it.
api.onStepUp((error) => askForStepUp(api, error));

api.onSignedOut((error) => {
  if (error.code === 'DEVICE_SIGNED_OUT_REMOTELY') {
    // The device was marked lost: the browser erased this site's data (Clear-Site-Data); a reload
    // drops what the page still holds in memory.
    location.hash = '#/signed-out-remotely';
    location.reload();
    return;
  }
  // A step-up is asked for, not a sign-out: the session is still live.
  if (error.code === 'STEP_UP_REQUIRED') return;
  if (session) void signOut('expired');
});

function header(): HTMLElement {
  const nav = h('nav', { 'aria-label': 'Main' });
  if (session) {
    const role = session.role;
    const items = PAGES.filter((p) => p.nav && p.roles !== 'public' && p.roles.includes(role)).sort(
      (a, b) => a.nav!.order - b.nav!.order,
    );
    const here = currentPath().split('?')[0];
    nav.append(
      h(
        'ul',
        null,
        items.map((p) =>
          h(
            'li',
            null,
            h('a', { href: `#${p.path}`, 'aria-current': here === p.path ? 'page' : null }, p.nav!.label),
          ),
        ),
      ),
    );
  }
  const who = session
    ? h(
        'div',
        { class: 'who' },
        h('span', { class: 'who-name' }, session.username, h('span', { class: 'role' }, session.role)),
        h('button', { type: 'button', class: 'link', onclick: () => void signOut('logout') }, 'Sign out'),
      )
    : null;
  return h(
    'header',
    { class: 'top' },
    h(
      'a',
      { class: 'brand', href: '#/' },
      h('img', { src: '/assets/icon.svg', alt: '', width: 24, height: 24 }),
      'VitalGate',
    ),
    who,
    nav,
  );
}

function refusal(title: string, text: string): HTMLElement {
  return h(
    'section',
    { class: 'refusal', 'aria-labelledby': 'refusal-title' },
    h('h1', { id: 'refusal-title' }, title),
    notice('error', text),
    session ? h('p', null, h('a', { href: `#${HOME_BY_ROLE[session.role]}` }, 'Go to my start page')) : null,
  );
}

let renders = 0;

/** Draws the page of the current hash; `main` is aria-busy until the page has drawn what it fetched. */
async function render(): Promise<void> {
  const mine = ++renders;
  main.setAttribute('aria-busy', 'true');
  try {
    await renderPage();
  } finally {
    if (mine === renders) main.setAttribute('aria-busy', 'false');
  }
}

async function renderPage(): Promise<void> {
  pageAbort?.abort();
  pageAbort = new AbortController();
  const signal = pageAbort.signal;
  const path = currentPath();
  if (path === '/' || path === '') {
    navigate(session ? HOME_BY_ROLE[session.role] : '/login');
    return;
  }
  const found = match(PAGES, path);
  // A role that requires passkeys: a user without one registers one before anything else opens.
  if (session?.passkeyRequired && found?.page.path !== '/passkeys' && found?.page.roles !== 'public') {
    navigate('/passkeys');
    return;
  }
  if (!session && found?.page.roles !== 'public') {
    navigate(`/login?next=${encodeURIComponent(path)}`);
    return;
  }
  bannerSlot.replaceChildren();
  replace(app, header(), bannerSlot, main);
  main.replaceChildren();
  if (!found) {
    document.title = 'Not found · VitalGate';
    main.append(refusal('Page not found', 'There is no page at this address.'));
    return;
  }
  const page: Page = found.page;
  if (page.roles !== 'public' && session) {
    if (!page.roles.includes(session.role)) {
      document.title = 'Not allowed · VitalGate';
      main.append(
        refusal(
          'Not allowed',
          `Your role (${session.role}) does not give access to this page. Nothing was opened.`,
        ),
      );
      return;
    }
  }
  document.title = `${page.title} · VitalGate`;
  try {
    await page.render({
      root: main,
      params: found.params,
      query: found.query,
      api,
      session,
      signal,
      navigate,
      signedIn: (s) => {
        session = s;
        startIdle();
        const next = found.query.get('next');
        navigate(
          s.passkeyRequired
            ? '/passkeys'
            : next && next.startsWith('/') && !next.startsWith('/login')
              ? next
              : HOME_BY_ROLE[s.role],
        );
      },
      setBanner: (banner) => bannerSlot.replaceChildren(...(banner ? [banner] : [])),
    });
  } catch (err) {
    if (signal.aborted) return;
    main.replaceChildren(
      refusal(
        err instanceof ApiError && err.status === 403 ? 'Not allowed' : 'This page could not be opened',
        err instanceof Error ? err.message : 'Something went wrong.',
      ),
    );
  }
}

function startIdle(): void {
  idle?.stop();
  if (!session) return;
  idle = new IdleLogoff(api, session.idleTimeoutSeconds * 1000, (reason) => void signOut(reason));
  idle.start();
}

async function boot(): Promise<void> {
  try {
    session = await loadSession();
  } catch (err) {
    replace(app, refusal('VitalGate is not reachable', err instanceof Error ? err.message : 'Try again.'));
    return;
  }
  startIdle();
  window.addEventListener('hashchange', () => void render());
  await render();
}

void boot();
