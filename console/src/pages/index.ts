// Every page of the console, once. To add a page: write pages/<name>.ts exporting a Page and
// add it here; the router, navigation and role gate follow from its fields.
import type { Page } from '../page.js';
import { alertsPage } from './alerts.js';
import { loginPage } from './login.js';
import { myPatientsPage } from './my-patients.js';
import { patientPage } from './patient.js';

export const PAGES: readonly Page[] = [loginPage, myPatientsPage, patientPage, alertsPage];
