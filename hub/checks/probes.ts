// Network probes against the hub's own listeners, as an outside client would see them.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** An MQTT 3.1.1 CONNECT packet with a client id. */
export function mqttConnectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]);
  const payload = Buffer.concat([Buffer.from([id.length >> 8, id.length & 0xff]), id]);
  const remaining = variable.length + payload.length;
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

/** What a plain TCP client gets from a port: 'closed', 'no_mqtt' or 'connack'. */
export function probePlainMqtt(
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<'closed' | 'no_mqtt' | 'connack'> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    let settled = false;
    const done = (result: 'closed' | 'no_mqtt' | 'connack') => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('no_mqtt'));
    socket.once('error', () => done('closed'));
    socket.once('connect', () => socket.write(mqttConnectPacket('vitalgate-probe')));
    socket.once('data', (data: Buffer) => done(data[0] === 0x20 ? 'connack' : 'no_mqtt'));
    socket.once('close', () => done('no_mqtt'));
  });
}

export interface TlsProbeResult {
  handshake: boolean;
  protocol?: string | null;
  cipher?: string;
  /** Whether an MQTT CONNECT after the handshake got a CONNACK. */
  connack?: boolean;
  error?: string;
}

/** A TLS handshake with the given options, then an MQTT CONNECT. */
export function probeTls(
  host: string,
  port: number,
  options: ConnectionOptions & { clientId?: string },
  timeoutMs = 3_000,
): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ...options });
    let result: TlsProbeResult = { handshake: false };
    let settled = false;
    const done = (extra: Partial<TlsProbeResult> = {}) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...result, ...extra });
    };
    socket.setTimeout(timeoutMs, () => done());
    socket.once('secureConnect', () => {
      result = {
        handshake: true,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        connack: false,
      };
      socket.write(mqttConnectPacket(options.clientId ?? 'vitalgate-probe'));
    });
    socket.on('data', (data: Buffer) => {
      if (data[0] === 0x20) done({ connack: data[3] === 0 });
    });
    socket.once('error', (err) => done({ error: err.message }));
    socket.once('close', () => done());
  });
}
