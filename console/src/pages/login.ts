// Sign-in for every role, in the API's steps: password → (first login) a new password →
// (no authenticator yet) TOTP enrolment with a QR code drawn here and the secret shown once →
// the 6-digit code → a session cookie. Each step is a small form; errors are sentences.
import { ApiError, type ApiClient } from '../api.js';
import { h, notice, replace } from '../dom.js';
import type { Page, PageView, Session } from '../page.js';
import { passkeysSupported, signInWithPasskey } from '../passkey-ceremony.js';
import { qrImage } from '../qr.js';

interface LoginStep {
  next: 'password_change' | 'mfa_enroll' | 'mfa';
  challengeId: string;
  expiresAt: string;
  totp?: { secret: string; otpauthUri: string };
}

const SIGNED_OUT: Readonly<Record<string, string>> = {
  logout: 'You are signed out.',
  idle: 'You were signed out because the console was not used for a while. This protects patient privacy.',
  expired: 'Your session has ended. Please sign in again.',
};

function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  const id = input.id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    input,
  );
}

function form(
  title: string,
  body: (HTMLElement | null)[],
  submitLabel: string,
  onSubmit: (status: HTMLElement) => Promise<void>,
): HTMLFormElement {
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const el = h('form', { class: 'card login', novalidate: true }, h('h1', null, title), body, status, button);
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    status.replaceChildren();
    onSubmit(status)
      .catch((err: unknown) => {
        status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Something went wrong.'));
        status.querySelector('p')?.focus();
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return el;
}

function passwordStep(
  view: PageView,
  show: (step: LoginStep | null, message?: string) => void,
  message?: string,
): HTMLFormElement {
  const username = h('input', {
    id: 'username',
    name: 'username',
    autocomplete: 'username',
    required: true,
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const reason = view.query.get('signedOut');
  const el = form(
    'Sign in to VitalGate',
    [
      message
        ? notice('error', message)
        : reason && SIGNED_OUT[reason]
          ? notice('info', SIGNED_OUT[reason])
          : null,
      field('Username', username),
      field('Password', password),
    ],
    'Sign in',
    async () => {
      if (!username.value || !password.value) throw new Error('Enter your username and password.');
      show(
        await view.api.post<LoginStep>('/auth/login', {
          username: username.value.trim(),
          password: password.value,
        }),
      );
    },
  );
  if (passkeysSupported()) el.append(passkeySignIn(view));
  return el;
}

/** "Sign in with a passkey": no username or password, the authenticator offers its passkey. */
function passkeySignIn(view: PageView): HTMLElement {
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'button', class: 'passkey-button' }, 'Use a passkey instead');
  button.addEventListener('click', () => {
    button.disabled = true;
    status.replaceChildren();
    signInWithPasskey(view.api)
      .then(async () => view.signedIn(await view.api.get<Session>('/auth/session')))
      .catch((err: unknown) => {
        status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Something went wrong.'));
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return h('div', { class: 'passkey-signin' }, h('p', { class: 'or' }, 'or'), button, status);
}

function newPasswordStep(
  view: PageView,
  step: LoginStep,
  show: (s: LoginStep | null, message?: string) => void,
): HTMLFormElement {
  const first = h('input', {
    id: 'new-password',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    'aria-describedby': 'new-password-hint',
  });
  const again = h('input', {
    id: 'new-password-again',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
  });
  return form(
    'Choose your own password',
    [
      notice(
        'info',
        'This is your first sign-in. Replace the one-time password you were given with your own.',
      ),
      field(
        'New password',
        first,
        'At least 12 characters. A few unrelated words are easy to remember and hard to guess.',
      ),
      field('New password again', again),
    ],
    'Save password',
    async () => {
      if (first.value !== again.value)
        throw new Error('The two passwords are not the same. Type them again.');
      if ([...first.value].length < 12)
        throw new Error('That password is too short: use at least 12 characters.');
      try {
        show(
          await view.api.post<LoginStep>('/auth/login/password', {
            challengeId: step.challengeId,
            newPassword: first.value,
          }),
        );
      } catch (err) {
        // The API spends the sign-in step on any answer: start again from the one-time password.
        if (err instanceof ApiError && err.status < 500) {
          show(null, `${err.message} Sign in again with your one-time password and choose another one.`);
          return;
        }
        throw err;
      }
    },
  );
}

function codeInput(): HTMLInputElement {
  return h('input', {
    id: 'code',
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
    required: true,
    'aria-describedby': 'code-hint',
  });
}

async function finish(view: PageView, api: ApiClient, challengeId: string, code: string): Promise<void> {
  const digits = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(digits)) throw new Error('Enter the 6 digits your authenticator app shows.');
  await api.post('/auth/mfa', { challengeId, code: digits });
  view.signedIn(await api.get<Session>('/auth/session'));
}

function enrolStep(view: PageView, step: LoginStep): HTMLFormElement {
  const totp = step.totp!;
  const code = codeInput();
  const grouped = totp.secret.replace(/(.{4})/g, '$1 ').trim();
  return form(
    'Set up your authenticator',
    [
      h(
        'ol',
        { class: 'steps' },
        h(
          'li',
          null,
          'Open an authenticator app on your phone (for example FreeOTP, Google or Microsoft Authenticator).',
        ),
        h('li', null, 'Scan this code, or type the key below into the app.'),
        h('li', null, 'Enter the 6-digit code the app shows.'),
      ),
      h(
        'div',
        { class: 'qr-box' },
        qrImage(totp.otpauthUri, 'QR code to add VitalGate to your authenticator app'),
      ),
      h(
        'p',
        { class: 'secret' },
        'Key: ',
        h('code', { id: 'totp-secret', 'data-secret': totp.secret }, grouped),
      ),
      notice('info', 'This key is shown only now. Do not write it down or share it.'),
      field('6-digit code', code, 'The code changes every 30 seconds.'),
    ],
    'Confirm and sign in',
    async () => finish(view, view.api, step.challengeId, code.value),
  );
}

function mfaStep(view: PageView, step: LoginStep): HTMLFormElement {
  const code = codeInput();
  return form(
    'Enter your code',
    [field('6-digit code from your authenticator app', code, 'The code changes every 30 seconds.')],
    'Sign in',
    async () => finish(view, view.api, step.challengeId, code.value),
  );
}

export const loginPage: Page = {
  path: '/login',
  title: 'Sign in',
  roles: 'public',
  render(view) {
    if (view.session) {
      view.navigate('/');
      return;
    }
    const box = h('div', { class: 'login-wrap' });
    const show = (step: LoginStep | null, message?: string) => {
      const next =
        step === null
          ? passwordStep(view, show, message)
          : step.next === 'password_change'
            ? newPasswordStep(view, step, show)
            : step.next === 'mfa_enroll'
              ? enrolStep(view, step)
              : mfaStep(view, step);
      replace(box, next);
      next.querySelector('input')?.focus();
    };
    show(null);
    view.root.append(box);
  },
};
