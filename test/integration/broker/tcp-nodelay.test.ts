// Device sockets run with TCP_NODELAY: a PUBACK is a few bytes the device waits for, and Nagle's
// algorithm would hold it behind the device's delayed ACK.
import { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceTlsListener } from '../../../broker/tls-listener.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let device: DeviceCredentials;

beforeAll(async () => {
  pki = await createTestPki();
  device = await pki.issueDevice('nodelay-1', 'wearable');
});

afterAll(() => {
  vi.restoreAllMocks();
  pki.cleanup();
});

describe('device TLS listener', () => {
  it('turns Nagle off on every accepted connection before the handshake', async () => {
    const noDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    const { authority } = pki;
    const accepted: TLSSocket[] = [];
    const listener = new DeviceTlsListener({
      tls: { ...authority.serverTls(), ca: authority.caBundlePem(), crl: authority.tlsRevocationPem() },
      maxConnections: 10,
      connectsPerSourcePerMinute: 100,
      onConnection: (socket) => accepted.push(socket),
      onRefusal: () => {},
    });
    const port = await listener.listen('127.0.0.1', 0);
    noDelay.mockClear();
    const client = tlsConnect({
      host: '127.0.0.1',
      port,
      key: device.keyPem,
      cert: device.certPem,
      ca: device.caPem,
      servername: 'localhost',
    });
    await new Promise<void>((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toHaveLength(1);
    const serverSide = noDelay.mock.contexts.filter((socket) => (socket as Socket).localPort === port);
    expect(serverSide).toHaveLength(1);
    expect(noDelay.mock.calls[noDelay.mock.contexts.indexOf(serverSide[0])]).toEqual([true]);
    client.destroy();
    listener.closeConnections();
    await listener.close();
  });
});
