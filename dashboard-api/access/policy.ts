// Who may do what: SPEC §6 roles as permissions, in one table. A route names the one
// permission it needs (or `public`); a route that names none is refused at startup, and a role
// without the permission is refused at request time (deny by default).
import type { Role } from '../../core/domain.js';

export type Permission =
  /** Read PHI of an accessible patient (assignment or break-glass), from an allowed network. */
  | 'phi.read'
  | 'patients.manage'
  | 'users.manage'
  | 'devices.read'
  | 'devices.manage'
  | 'audit.read'
  | 'security.read'
  | 'checks.read'
  | 'checks.run'
  /** Any signed-in account, for its own session and password. */
  | 'self';

/** `public`, one permission, or several (any one suffices; the handler serves each its view). */
export type RouteAccess = 'public' | Permission | readonly Permission[];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: [
    'patients.manage',
    'users.manage',
    'devices.read',
    'devices.manage',
    'security.read',
    'checks.read',
    'checks.run',
    'self',
  ],
  clinician: ['phi.read', 'self'],
  engineer: ['devices.read', 'devices.manage', 'security.read', 'checks.read', 'self'],
  auditor: ['audit.read', 'security.read', 'checks.read', 'checks.run', 'self'],
};

export function roleMay(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller needs to reach the route. Required on every route. */
    access?: RouteAccess;
    /** For PHI routes: what is read, as the audit entry names it (`telemetry`, `observations`, ...). */
    phi?: string;
  }
}
