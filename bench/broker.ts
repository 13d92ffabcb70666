// Our broker path (identity gate, ACL, limits, audit; intake excluded) against Debian's
// Mosquitto configured the same way (require_certificate, use_identity_as_username), with the
// same certificates and the same load generator, in one run. One JSON line per run:
// broker CPU µs per QoS-1 message, CPU ms per mutual-TLS connect, RSS KB per idle connection.
//   npx tsx bench/broker.ts [--clients 200] [--messages 20000]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { freePort } from '../hub/influxd.js';
import { connectDevice } from '../test/support/broker.js';
import { createTestPki, type DeviceCredentials } from '../test/support/hub-pki.js';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '200' }, messages: { type: 'string', default: '20000' } },
});
const clientCount = Number(values.clients);
const messageCount = Number(values.messages);

const stat = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return { cpuMs, rssKb };
};

async function measure(name: string, pid: number, port: number, creds: DeviceCredentials[]) {
  await new Promise((r) => setTimeout(r, 1000));
  const idle = stat(pid);
  const clients: MqttClient[] = [];
  for (const c of creds) clients.push(await connectDevice(port, c, c.deviceId));
  await new Promise((r) => setTimeout(r, 1000));
  const connected = stat(pid);
  const payload = JSON.stringify({
    v: 1,
    seq: 1,
    ts: Date.now(),
    readings: [{ type: 'heart_rate', value: 72, unit: '/min' }],
  });
  let sent = 0;
  await Promise.all(
    clients.map(async (client, i) => {
      const topic = `devices/${creds[i]!.deviceId}/telemetry`;
      while (sent < messageCount) {
        sent += 1;
        await client.publishAsync(topic, payload, { qos: 1 });
      }
    }),
  );
  const published = stat(pid);
  for (const c of clients) c.end(true);
  return {
    broker: name,
    cpuUsPerMessage: Number((((published.cpuMs - connected.cpuMs) * 1000) / sent).toFixed(1)),
    cpuMsPerConnect: Number(((connected.cpuMs - idle.cpuMs) / clients.length).toFixed(2)),
    rssKbPerConnection: Number(((connected.rssKb - idle.rssKb) / clients.length).toFixed(1)),
  };
}

function waitForLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

const pki = await createTestPki();
const creds: DeviceCredentials[] = [];
for (let i = 0; i < clientCount; i++) creds.push(await pki.issueDevice(`b-${i}`, 'wearable'));

const ours = spawn(
  process.execPath,
  ['--import', 'tsx', join(import.meta.dirname, 'broker-server.ts'), pki.dataDir],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const ourPort = Number(await waitForLine(ours));
const vitalgate = await measure('vitalgate', ours.pid!, ourPort, creds);
ours.kill('SIGTERM');

const tls = pki.authority.serverTls();
const files = {
  ca: join(pki.dataDir, 'bench-ca.pem'),
  cert: join(pki.dataDir, 'bench-server.pem'),
  key: join(pki.dataDir, 'bench-server.key'),
  conf: join(pki.dataDir, 'mosquitto.conf'),
};
writeFileSync(files.ca, pki.authority.caBundlePem());
writeFileSync(files.cert, tls.cert);
writeFileSync(files.key, tls.key);
const mqPort = await freePort();
writeFileSync(
  files.conf,
  [
    'per_listener_settings false',
    'allow_anonymous false',
    `listener ${mqPort} 127.0.0.1`,
    `cafile ${files.ca}`,
    `certfile ${files.cert}`,
    `keyfile ${files.key}`,
    'require_certificate true',
    'use_identity_as_username true',
    'tls_version tlsv1.2',
    'persistence false',
    'user root',
    '',
  ].join('\n'),
);
const mosquitto = spawn('mosquitto', ['-c', files.conf], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const reference = await measure('mosquitto', mosquitto.pid!, mqPort, creds);
mosquitto.kill('SIGTERM');

console.log(
  JSON.stringify({
    bench: 'broker',
    clients: clientCount,
    messages: messageCount,
    vitalgate,
    mosquitto: reference,
    ratios: {
      cpuPerMessage: Number((vitalgate.cpuUsPerMessage / reference.cpuUsPerMessage).toFixed(2)),
      cpuPerConnect: Number((vitalgate.cpuMsPerConnect / reference.cpuMsPerConnect).toFixed(2)),
      memoryPerConnection: Number((vitalgate.rssKbPerConnection / reference.rssKbPerConnection).toFixed(2)),
    },
    node: process.version,
  }),
);
pki.cleanup();
process.exit(0);
