// Connections that never finish the TLS handshake (issue 22, item 2), through the real broker with
// raw TCP sockets: silent ones and ones that send half a ClientHello (trickled, so that an idle
// timer would never fire) are closed at the handshake deadline, one source holds at most its
// share of unfinished handshakes, and real devices still connect, from another source at once and
// from the same one once the deadline freed its places under the connection cap.
import { connect as tcpConnect, type Socket } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';

const TIMEOUT_S = 3;
const PER_SOURCE = 3;
let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
const devices: DeviceCredentials[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  for (let i = 0; i < 4; i++) devices.push(await pki.issueDevice(`hs-${i}`, 'wearable'));
  broker = await startTestBroker(pki, {
    VITALGATE_TLS_HANDSHAKE_TIMEOUT_SECONDS: String(TIMEOUT_S),
    VITALGATE_PENDING_HANDSHAKES_PER_SOURCE: String(PER_SOURCE),
    VITALGATE_MAX_CONNECTIONS: '4',
  });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  pki?.cleanup();
});

/** A raw TCP connection from 127.0.0.1 that resolves once connected; `closed` when the hub ends it. */
async function rawSocket(): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = tcpConnect({ host: '127.0.0.1', port: broker.port, localAddress: '127.0.0.1' });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** The first bytes of a TLS 1.2 ClientHello whose record announces 512 bytes. */
function halfClientHello(): Buffer {
  const body = Buffer.alloc(40);
  body[0] = 0x03; // client_version 3.3
  body[1] = 0x03;
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]), body]);
}

async function refusals(reason: string): Promise<number> {
  const metric = await broker.registry.getSingleMetric('vitalgate_mqtt_connection_refusals_total')!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('TLS handshakes that never finish', () => {
  it('are cut at the deadline, capped per source, and leave room for devices', async () => {
    const clients: MqttClient[] = [];
    try {
      const opened = Date.now();
      const silent = [await rawSocket(), await rawSocket()];
      const partial = await rawSocket();
      const hello = halfClientHello();
      partial.socket.write(hello.subarray(0, 20));
      // One more from the same source is over its share: refused at once, long before the deadline.
      const over = await rawSocket();
      const overClosedAt = await over.closed;
      expect(overClosedAt - opened).toBeLessThan(TIMEOUT_S * 1000);
      expect(await refusals('PENDING_HANDSHAKES_LIMITED')).toBe(1);
      // More bytes of the ClientHello half way: an idle timer would start again, the deadline does not.
      partial.socket.write(hello.subarray(20, 30));

      // Another source is not held back by this one's unfinished handshakes.
      clients.push(
        await connectDevice(broker.port, devices[0]!, 'hs-0', {
          localAddress: '127.0.0.2',
        } as IClientOptions),
      );
      expect(broker.broker.liveSessions().map((s) => s.deviceId)).toEqual(['hs-0']);

      const closedAt = await Promise.all([...silent, partial].map((s) => s.closed));
      for (const at of closedAt) expect(at - opened).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
      expect(await refusals('HANDSHAKE_TIMEOUT')).toBe(3);
      const events = pki.store.securityEvents.list({ limit: 50 });
      expect(events.filter((e) => e.details?.code === 'HANDSHAKE_TIMEOUT')).toHaveLength(3);

      // Their places are free: three devices from the same source fill the cap of 4 with hs-0.
      for (const dev of devices.slice(1)) clients.push(await connectDevice(broker.port, dev, dev.deviceId));
      expect(broker.broker.liveSessions()).toHaveLength(4);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
  }, 30_000);
});
