// My devices (every role): the browsers and apps the user is signed in on, to rename (“Ward 4
// tablet”), to mark lost when a phone is gone (its sessions end at once and it erases what the
// console kept), and to sign out everywhere.
import { h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { staffDeviceCard, type StaffDevice } from '../staff-device-card.js';
import { confirmAction, pageHeader } from '../ui.js';

export const myDevicesPage: Page = {
  path: '/my-devices',
  title: 'My devices',
  roles: ['clinician', 'engineer', 'admin', 'auditor'],
  nav: { label: 'My devices', order: 90 },
  async render(view) {
    const list = h('div', { class: 'device-list' });
    const load = async () => {
      const devices = await view.api.get<StaffDevice[]>('/staff-devices', view.signal);
      replace(
        list,
        devices.length === 0
          ? notice('info', 'No devices yet.')
          : devices.map((d) =>
              staffDeviceCard(d, { api: view.api, canRename: true, changed: () => void load() }),
            ),
      );
    };
    const everywhere = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: () =>
          void confirmAction({
            title: 'Sign out everywhere?',
            text: 'Every session on every device ends now, this one too. Sign in again on the devices you still have.',
            action: 'Sign out everywhere',
            danger: true,
            run: () => view.api.post('/auth/sign-out-everywhere'),
          }).then((done) => {
            if (!done) return;
            location.hash = '#/login?signedOut=logout';
            location.reload();
          }),
      },
      'Sign out everywhere',
    );
    view.root.append(
      pageHeader('My devices', everywhere),
      h(
        'p',
        null,
        'Each browser or app you sign in on is listed here. If a phone or tablet is lost or stolen, mark it lost: it is signed out at once and erases what VitalGate kept on it.',
      ),
      list,
    );
    await load();
  },
};
