// Every page of the console, once. To add a page: write pages/<name>.ts exporting a Page and
// add it here; the router, navigation and role gate follow from its fields.
import type { Page } from '../page.js';
import { loginPage } from './login.js';

export const PAGES: readonly Page[] = [loginPage];
