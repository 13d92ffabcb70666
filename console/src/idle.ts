// Automatic logoff (HIPAA 164.312(a)(2)(iii)) as the user sees it: after
// VITALGATE_SESSION_IDLE_MINUTES without a real user action the console ends the session on the
// server and says so; a minute before, it warns, and only a real click on "Stay signed in" keeps
// the session (a script-made event is not trusted). Background refreshes are not activity. Real
// activity is reported to the server at most once a minute, so a user who reads a live page keeps
// the server-side session as long as the console does.
import type { ApiClient } from './api.js';
import { h } from './dom.js';

const WARN_BEFORE_MS = 60_000;
const TOUCH_EVERY_MS = 60_000;
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export class IdleLogoff {
  private lastActivity = Date.now();
  private lastTouch = Date.now();
  private timer: number | undefined;
  private dialog: HTMLDialogElement | undefined;
  private readonly onActivity = (event: Event) => {
    if (!event.isTrusted || this.dialog?.open) return;
    this.lastActivity = Date.now();
    if (this.lastActivity - this.lastTouch >= TOUCH_EVERY_MS) {
      this.lastTouch = this.lastActivity;
      void this.api.get('/auth/session').catch(() => {});
    }
  };

  constructor(
    private readonly api: ApiClient,
    private readonly idleMs: number,
    private readonly signOut: (reason: 'idle') => void,
  ) {}

  start(): void {
    for (const name of ACTIVITY_EVENTS)
      window.addEventListener(name, this.onActivity, { capture: true, passive: true });
    this.timer = window.setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, this.onActivity, { capture: true });
    window.clearInterval(this.timer);
    this.dialog?.close();
    this.dialog?.remove();
  }

  private tick(): void {
    const idle = Date.now() - this.lastActivity;
    if (idle >= this.idleMs) {
      this.stop();
      this.signOut('idle');
    } else if (idle >= this.idleMs - WARN_BEFORE_MS) {
      this.warn(Math.ceil((this.idleMs - idle) / 1000));
    }
  }

  private warn(secondsLeft: number): void {
    if (!this.dialog) {
      const left = h('strong', { id: 'idle-left' });
      const stay = h('button', { type: 'button', class: 'primary' }, 'Stay signed in');
      stay.addEventListener('click', (event) => {
        if (!event.isTrusted) return;
        this.lastActivity = Date.now();
        this.lastTouch = this.lastActivity;
        this.dialog?.close();
        void this.api.get('/auth/session').catch(() => {});
      });
      this.dialog = h(
        'dialog',
        { class: 'idle-warning', 'aria-labelledby': 'idle-title' },
        h('h2', { id: 'idle-title' }, 'Are you still there?'),
        h('p', null, 'For patient privacy you will be signed out in ', left, ' seconds.'),
        stay,
      );
      document.body.append(this.dialog);
    }
    const left = this.dialog.querySelector('#idle-left');
    if (left) left.textContent = String(secondsLeft);
    if (!this.dialog.open) this.dialog.showModal();
  }
}
