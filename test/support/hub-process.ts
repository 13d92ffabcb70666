// `vitalgate start` as a child process, the way an operator runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN, runTemp } from './cli.js';

export interface HubProcess {
  child: ChildProcess;
  ready: { ready: true; mqttPort: number; apiPort: number | null; influxUrl: string };
  stderr(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export function startHubProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<HubProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--json'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...runTemp(),
      VITALGATE_MQTT_PORT: '0',
      VITALGATE_API_PORT: '0',
      VITALGATE_INFLUX_PORT: '0',
      VITALGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not get ready in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve({
          child,
          ready: JSON.parse(line),
          stderr: () => stderr,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      } catch {
        reject(new Error(`unexpected first line from the hub: ${line} ${stderr}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before ready: ${stderr}`));
    });
  });
}
