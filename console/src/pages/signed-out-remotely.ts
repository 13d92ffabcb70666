// Where a device marked lost lands: its sessions were ended from another device or by an
// administrator, and the browser was told to erase what this site kept (Clear-Site-Data).
import { h, notice } from '../dom.js';
import type { Page } from '../page.js';

export const signedOutRemotelyPage: Page = {
  path: '/signed-out-remotely',
  title: 'Signed out remotely',
  roles: 'public',
  render(view) {
    view.root.append(
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'remote-title' },
        h('h1', { id: 'remote-title' }, 'This device was signed out remotely'),
        notice(
          'info',
          'It was marked lost, by you from another device or by an administrator. Everything VitalGate kept in this browser has been erased.',
        ),
        h(
          'p',
          null,
          'If you have found it again, you can sign in once more. It will be listed as a new device.',
        ),
        h('p', null, h('a', { href: '#/login' }, 'Sign in')),
      ),
    );
  },
};
