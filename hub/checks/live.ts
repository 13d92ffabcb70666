// How the checks see a running hub: in the hub process itself, through the broker; from the CLI,
// through the state file the running hub writes (ports only; live sessions are known in-process).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import type { LiveHub } from './check.js';

export const HUB_STATE_FILE = 'hub.json';

function probeHost(bind: string): string {
  return bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
}

export function liveHubFromStateFile(config: HubConfig): (LiveHub & { influxUrl: string }) | undefined {
  const file = join(config.dataDir, HUB_STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as {
      pid: number;
      mqttPort: number;
      apiPort: number | null;
      influxUrl: string;
    };
    process.kill(state.pid, 0); // throws when the hub is gone
    return {
      pid: state.pid,
      mqtt: { host: probeHost(config.bind), port: state.mqttPort },
      ...(state.apiPort ? { api: { host: probeHost(config.bind), port: state.apiPort } } : {}),
      liveSessions: () => [],
      influxUrl: state.influxUrl,
    };
  } catch {
    return undefined;
  }
}

export function liveHubInProcess(
  config: HubConfig,
  ports: { mqttPort: number; apiPort: number | null },
  sessions: () => { deviceId: string; serial: string; address: string }[],
): LiveHub {
  return {
    pid: process.pid,
    mqtt: { host: probeHost(config.bind), port: ports.mqttPort },
    ...(ports.apiPort ? { api: { host: probeHost(config.bind), port: ports.apiPort } } : {}),
    liveSessions: sessions,
  };
}
