// The optional layers the hub runs when they are present: the durable ingest pipeline and the
// HTTPS API. Kept in one place so hub/main.ts does not change when they are wired.
import type { HubPlugins } from './main.js';

export const HUB_PLUGINS: HubPlugins = {};
