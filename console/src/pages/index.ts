// Every page of the console, once. To add a page: write pages/<name>.ts exporting a Page and
// add it here; the router, navigation and role gate follow from its fields.
import type { Page } from '../page.js';
import { adminPatientsPage } from './admin-patients.js';
import { alertsPage } from './alerts.js';
import { alertSettingsPage } from './alert-settings.js';
import { auditPage } from './audit.js';
import { breakGlassReviewPage } from './break-glass-review.js';
import { careTeamPage } from './care-team.js';
import { checksPage } from './checks.js';
import { conversationPage } from './conversation.js';
import { conversationsPage } from './conversations.js';
import { devicesPage } from './devices.js';
import { gatewaysPage } from './gateways.js';
import { loginPage } from './login.js';
import { myPatientsPage } from './my-patients.js';
import { notificationLinkPage, notificationsPage } from './notifications.js';
import { myDevicesPage } from './my-devices.js';
import { signedOutRemotelyPage } from './signed-out-remotely.js';
import { staffDevicesPage } from './staff-devices.js';
import { passkeysPage } from './passkeys.js';
import { patientPage } from './patient.js';
import { rolesPage } from './roles.js';
import { rpmPatientPage } from './rpm-patient.js';
import { rpmProgrammePage } from './rpm-programme.js';
import { securityPage } from './security.js';
import { usersPage } from './users.js';

export const PAGES: readonly Page[] = [
  loginPage,
  myPatientsPage,
  patientPage,
  rpmProgrammePage,
  rpmPatientPage,
  alertsPage,
  alertSettingsPage,
  careTeamPage,
  notificationsPage,
  notificationLinkPage,
  conversationsPage,
  conversationPage,
  devicesPage,
  gatewaysPage,
  securityPage,
  checksPage,
  auditPage,
  breakGlassReviewPage,
  usersPage,
  rolesPage,
  adminPatientsPage,
  myDevicesPage,
  staffDevicesPage,
  passkeysPage,
  signedOutRemotelyPage,
];
