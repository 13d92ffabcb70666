// Notifications on this browser (clinicians): allow them, see the browsers that receive them,
// remove one, send a test. Allowing registers the console's service worker (/sw.js), asks the
// browser for permission, subscribes with the hub's VAPID key and gives the subscription to the
// hub. A notification says only "Critical alert for a patient of yours"; its link opens
// /#/notifications/<token>, which the second page here turns into the patient after sign-in.
import { h, notice, replace } from '../dom.js';
import type { Page, PageView } from '../page.js';
import { pageHeader, table } from '../ui.js';

interface Subscription {
  id: number;
  label: string;
  createdAt: string;
  lastSuccessAt: string | null;
}

/** "Chrome on Android": enough for a clinician to tell their browsers apart, nothing more. */
function browserLabel(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : 'another system';
  return `${browser} on ${os}`;
}

const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

async function enable(view: PageView): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted')
    throw new Error('Notifications are blocked for this site. Allow them in the browser’s site settings.');
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  await navigator.serviceWorker.ready;
  const { publicKey } = await view.api.get<{ publicKey: string }>('/push/vapid-key', view.signal);
  const key = Uint8Array.from(atob(publicKey.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  // A subscription made with another (rotated) key is replaced.
  const old = await registration.pushManager.getSubscription();
  if (old) await old.unsubscribe();
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: key,
  });
  await view.api.post('/push/subscriptions', { ...subscription.toJSON(), label: browserLabel() });
}

export const notificationsPage: Page = {
  path: '/notifications',
  title: 'Notifications',
  roles: ['clinician'],
  nav: { label: 'Notifications', order: 92 },
  async render(view) {
    const status = h('div', { class: 'form-status', role: 'status' });
    const list = h('div');
    const enableButton = h(
      'button',
      { type: 'button', class: 'primary' },
      'Allow notifications on this browser',
    );
    const testButton = h('button', { type: 'button' }, 'Send a test notification');
    view.root.append(
      pageHeader('Notifications'),
      h(
        'p',
        null,
        'Get alerts for your patients and escalations when you are on call, even with the console closed. A notification never shows a name or a value: open it and sign in to see the patient.',
      ),
      supported()
        ? h('div', { class: 'row' }, enableButton, testButton)
        : notice(
            'info',
            'This browser cannot receive notifications. Use a current Chrome, Edge, Firefox or Safari.',
          ),
      status,
      h('h2', null, 'Browsers that receive your notifications'),
      list,
    );
    const draw = async () => {
      const { subscriptions } = await view.api.get<{ subscriptions: Subscription[] }>(
        '/push/subscriptions',
        view.signal,
      );
      replace(
        list,
        table<Subscription>(
          'Browsers that receive your notifications',
          [
            { label: 'Browser', cell: (s) => s.label },
            { label: 'Allowed', cell: (s) => new Date(s.createdAt).toLocaleString() },
            {
              label: 'Last delivered',
              cell: (s) => (s.lastSuccessAt ? new Date(s.lastSuccessAt).toLocaleString() : 'not yet'),
            },
            {
              label: 'Remove',
              cell: (s) =>
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    'aria-label': `Stop notifications to ${s.label}`,
                    onclick: () =>
                      void view.api
                        .delete(`/push/subscriptions/${s.id}`)
                        .then(async () => {
                          status.replaceChildren(
                            notice('ok', `${s.label} no longer receives notifications.`),
                          );
                          await draw();
                        })
                        .catch((err: unknown) =>
                          status.replaceChildren(
                            notice('error', err instanceof Error ? err.message : 'Could not remove it.'),
                          ),
                        ),
                  },
                  'Stop',
                ),
            },
          ],
          subscriptions,
        ),
      );
    };
    enableButton.addEventListener('click', () => {
      enableButton.disabled = true;
      enable(view)
        .then(async () => {
          status.replaceChildren(notice('ok', 'This browser now receives your notifications.'));
          await draw();
        })
        .catch((err: unknown) =>
          status.replaceChildren(
            notice('error', err instanceof Error ? err.message : 'Could not allow notifications.'),
          ),
        )
        .finally(() => (enableButton.disabled = false));
    });
    testButton.addEventListener('click', () => {
      testButton.disabled = true;
      view.api
        .post<{ browsers: number; delivered: number }>('/push/test')
        .then((r) =>
          status.replaceChildren(
            r.browsers === 0
              ? notice('info', 'No browser receives your notifications yet: allow them first.')
              : notice(
                  'ok',
                  `Test sent to ${r.browsers} browser(s); ${r.delivered} accepted by their push service.`,
                ),
          ),
        )
        .catch((err: unknown) =>
          status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not send.')),
        )
        .finally(() => (testButton.disabled = false));
    });
    await draw();
  },
};

/** The link in a notification: after sign-in, the patient of its alert. */
export const notificationLinkPage: Page = {
  path: '/notifications/:token',
  title: 'Notification',
  roles: ['clinician'],
  async render(view) {
    const target = await view.api.get<{ alertId: number; patientId: string }>(
      `/notifications/${encodeURIComponent(view.params.token!)}`,
      view.signal,
    );
    view.navigate(`/patients/${encodeURIComponent(target.patientId)}`);
  },
};
