// Roles (admin): each role, what it may do (the API's own permission table, GET /roles) and
// who holds it. Written with the operator, auditor and admin pages; see docs/CONSOLE.md.
import { h } from '../dom.js';
import type { Page } from '../page.js';
import { pageHeader } from '../ui.js';

interface RoleView {
  role: string;
  permissions: string[];
  users: string[];
}

const PERMISSION_TEXT: Record<string, string> = {
  'phi.read': 'read assigned patients (and break-glass)',
  'patients.manage': 'register, assign and erase patients',
  'users.manage': 'manage staff accounts',
  'devices.read': 'see devices',
  'devices.manage': 'add, enrol, revoke and wipe devices',
  'audit.read': 'read and verify the audit log, review break-glass',
  'security.read': 'see security events',
  'checks.read': 'see deployment checks',
  'checks.run': 'run deployment checks',
  self: 'own password and session',
};

export const rolesPage: Page = {
  path: '/roles',
  title: 'Roles',
  roles: ['admin'],
  nav: { label: 'Roles', order: 55 },
  async render(view) {
    const roles = await view.api.get<RoleView[]>('/roles', view.signal);
    view.root.append(
      pageHeader('Roles'),
      h(
        'p',
        { class: 'hint' },
        'A role is chosen when an account is added. Only clinicians read patient data, and only their assigned patients or under break-glass.',
      ),
      h(
        'ul',
        { class: 'list', 'aria-label': 'Roles' },
        roles.map((r) =>
          h(
            'li',
            { 'data-role': r.role },
            h('h2', { class: 'role-name' }, r.role),
            h('p', { class: 'meta' }, 'Held by: ', r.users.length ? r.users.join(', ') : 'nobody'),
            h(
              'ul',
              { class: 'permissions', 'aria-label': `What the ${r.role} role may do` },
              r.permissions.map((p) => h('li', null, PERMISSION_TEXT[p] ?? p)),
            ),
          ),
        ),
      ),
    );
  },
};
