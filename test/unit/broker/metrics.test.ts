// Device Defender-style metrics in Prometheus format: per device and in total, ids only.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BrokerMetrics } from '../../../broker/metrics.js';

describe('BrokerMetrics', () => {
  it('exposes per-device and total counters labelled by device id, with seen times in seconds', async () => {
    const registry = new Registry();
    let live = 0;
    const metrics = new BrokerMetrics(registry, () => live);
    const wear = metrics.device('wear-1');
    wear.connectionAttempts += 2;
    wear.messagesSent += 3;
    wear.bytesSent += 300;
    wear.authorizationFailures += 1;
    wear.disconnects += 1;
    wear.firstSeen = 1_800_000_000_123;
    wear.lastSeen = 1_800_000_060_999;
    wear.lastSourceAddress = '10.0.0.7';
    metrics.messagesTotal = 3;
    metrics.bytesTotal = 300;
    metrics.refusals.inc({ reason: 'DEVICE_NOT_ACTIVE' });
    live = 1;

    const text = await registry.metrics();
    expect(text).toContain('vitalgate_mqtt_connections 1');
    expect(text).toContain('vitalgate_mqtt_messages_total 3');
    expect(text).toContain('vitalgate_mqtt_bytes_total 300');
    expect(text).toContain('vitalgate_mqtt_connection_refusals_total{reason="DEVICE_NOT_ACTIVE"} 1');
    expect(text).toContain('vitalgate_device_messages_sent{device_id="wear-1"} 3');
    expect(text).toContain('vitalgate_device_bytes_sent{device_id="wear-1"} 300');
    expect(text).toContain('vitalgate_device_connection_attempts{device_id="wear-1"} 2');
    expect(text).toContain('vitalgate_device_authorization_failures{device_id="wear-1"} 1');
    expect(text).toContain('vitalgate_device_disconnects{device_id="wear-1"} 1');
    expect(text).toContain('vitalgate_device_first_seen_seconds{device_id="wear-1"} 1800000000');
    expect(text).toContain('vitalgate_device_last_seen_seconds{device_id="wear-1"} 1800000060');
    // Addresses stay out of labels; they are in the snapshot for the authorised API.
    expect(text).not.toContain('10.0.0.7');
    expect(metrics.snapshot('wear-1')).toMatchObject({ lastSourceAddress: '10.0.0.7', messagesSent: 3 });
  });

  it('labels carry nothing but device ids and reason codes', async () => {
    const registry = new Registry();
    const metrics = new BrokerMetrics(registry, () => 0);
    metrics.device('ox-1').messagesSent = 1;
    metrics.aclDenials.inc({ reason: 'TOPIC_NOT_ALLOWED' });
    metrics.disconnects.inc({ cause: 'kicked' });
    const labels = new Set(
      (await registry.getMetricsAsJSON()).flatMap((m) =>
        (m.values as { labels: Record<string, unknown> }[]).flatMap((v) => Object.keys(v.labels)),
      ),
    );
    expect([...labels].sort()).toEqual(['cause', 'device_id', 'reason']);
  });
});
