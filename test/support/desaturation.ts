// A desaturation through the broker, as the alert tests publish it: SpO2 85 % in five QoS 1
// messages 10 s of reading time apart (40 s in all), so the spo2_low rule's 30 s sustain raises
// its critical alert. `at` carries the device's seq and reading time from one call to the next.
import type { MqttClient } from 'mqtt';
import { publishQos1 } from './broker.js';
import { envelope } from './ingest.js';

export async function publishDesaturation(
  device: MqttClient,
  deviceId: string,
  at: { seq: number; ts: number },
): Promise<void> {
  for (let i = 0; i < 5; i++) {
    at.seq += 1;
    at.ts += 10_000;
    await publishQos1(
      device,
      `devices/${deviceId}/telemetry`,
      envelope(at.seq, [{ type: 'spo2', value: 85, unit: '%' }], at.ts).toString(),
    );
  }
}
