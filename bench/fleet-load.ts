// A fleet of wearables on a real hub process, for benches that measure what other work does to
// the ingest: each device publishes QoS 1 envelopes of 5 readings, either on a fixed schedule
// (PUBACK latencies) or back to back (acknowledged readings/s).
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../test/support/broker.js';
import type { DeviceCredentials } from '../test/support/hub-pki.js';

export const READINGS_PER_MESSAGE = 5;

/** CPU ms a process has used so far (utime + stime from /proc, clock ticks of 10 ms). */
export function cpuMs(pid: number | 'self'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
export const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Off and on for `rounds` pairs, in the order off on, on off, off on, … so that a drift over the
 * run (InfluxDB's shards growing, the heap) falls on both modes alike.
 */
export function alternation(rounds: number): ('off' | 'on')[] {
  return Array.from(
    { length: rounds },
    (_, r) => (r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as ('off' | 'on')[],
  ).flat();
}

/** The p99 (ms, rounded) of each mode's pooled PUBACK latencies; sorts them in place. */
export function pooledP99(pooled: Record<'off' | 'on', number[]>): Record<'off' | 'on', number> {
  const p99 = (xs: number[]) =>
    round(
      percentile(
        xs.sort((a, b) => a - b),
        0.99,
      ),
    );
  return { off: p99(pooled.off), on: p99(pooled.on) };
}

export class Fleet {
  private readonly seqs: number[];
  /** Envelopes are dated an hour back, 10 ms apart per device (inside the accepted skew). */
  private readonly t0 = Date.now() - 3_600_000;

  private constructor(
    private readonly clients: MqttClient[],
    private readonly ids: string[],
  ) {
    this.seqs = new Array<number>(clients.length).fill(0);
  }

  static async connect(mqttPort: number, creds: readonly DeviceCredentials[]): Promise<Fleet> {
    const clients: MqttClient[] = [];
    for (const c of creds) clients.push(await connectDevice(mqttPort, c, c.deviceId));
    return new Fleet(
      clients,
      creds.map((c) => c.deviceId),
    );
  }

  get size(): number {
    return this.clients.length;
  }

  /** One envelope from device `i`; resolves with the time to its PUBACK (ms). */
  publish(i: number, heartRate = 72): Promise<number> {
    const seq = ++this.seqs[i]!;
    const payload = JSON.stringify({
      v: 1,
      seq,
      ts: this.t0 + seq * 10,
      readings: [
        { type: 'heart_rate', value: heartRate, unit: '/min' },
        { type: 'spo2', value: 97, unit: '%' },
        { type: 'steps', value: seq, unit: '{steps}' },
        { type: 'body_temperature', value: 36.8, unit: 'Cel' },
        { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 10 },
      ],
    });
    const start = performance.now();
    return this.clients[i]!.publishAsync(`devices/${this.ids[i]}/telemetry`, payload, { qos: 1 }).then(
      () => performance.now() - start,
    );
  }

  /**
   * Every device every `periodMs` (random phase) for `seconds`; `heartRateOf(i)` may give a
   * device's next heart rate (default 72). Returns the PUBACK latencies, sorted.
   */
  async fixedLoad(seconds: number, periodMs: number, heartRateOf?: (i: number) => number): Promise<number[]> {
    const latencies: number[] = [];
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      this.clients.map(async (_, i) => {
        await new Promise((r) => setTimeout(r, Math.random() * periodMs));
        let next = performance.now();
        while (Date.now() < end) {
          latencies.push(await this.publish(i, heartRateOf?.(i) ?? 72));
          next += periodMs;
          await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        }
      }),
    );
    return latencies.sort((a, b) => a - b);
  }

  /** Every device back to back (one in flight each) for `seconds`: acknowledged readings/s. */
  async saturated(seconds: number): Promise<number> {
    let acked = 0;
    const end = Date.now() + seconds * 1000;
    const start = performance.now();
    await Promise.all(
      this.clients.map(async (_, i) => {
        while (Date.now() < end) {
          await this.publish(i);
          acked += 1;
        }
      }),
    );
    return Math.round((acked * READINGS_PER_MESSAGE) / ((performance.now() - start) / 1000));
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.endAsync().catch(() => undefined);
  }
}
