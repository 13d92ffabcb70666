// Least-privilege topics: what a device may publish and subscribe to, and which last wills.
import { describe, expect, it } from 'vitest';
import {
  authorizeDevicePublish,
  authorizeDeviceSubscribe,
  authorizeDeviceWill,
  deviceTopics,
} from '../../../broker/acl.js';

const own = deviceTopics('ox-1');

describe('publish', () => {
  it('allows the device’s own telemetry, status and commands/ack topics', () => {
    expect(authorizeDevicePublish(own, 'devices/ox-1/telemetry', false)).toEqual({
      allowed: true,
      kind: 'telemetry',
    });
    expect(authorizeDevicePublish(own, 'devices/ox-1/status', false)).toEqual({
      allowed: true,
      kind: 'status',
    });
    expect(authorizeDevicePublish(own, 'devices/ox-1/commands/ack', false)).toEqual({
      allowed: true,
      kind: 'ack',
    });
  });

  it.each([
    ['devices/ox-2/telemetry', 'TOPIC_NOT_ALLOWED'],
    ['devices/ox-1/commands', 'TOPIC_NOT_ALLOWED'],
    ['devices/ox-1/telemetry/extra', 'TOPIC_NOT_ALLOWED'],
    ['devices/ox-10/telemetry', 'TOPIC_NOT_ALLOWED'],
    ['Devices/ox-1/telemetry', 'TOPIC_NOT_ALLOWED'],
    ['$SYS/broker/clients', 'SYS_TOPIC_NOT_ALLOWED'],
    ['$vitalgate/dropped', 'SYS_TOPIC_NOT_ALLOWED'],
  ])('refuses %s', (topic, reason) => {
    expect(authorizeDevicePublish(own, topic, false)).toEqual({ allowed: false, reason });
  });

  it('refuses a retained publish even on the device’s own topic', () => {
    expect(authorizeDevicePublish(own, 'devices/ox-1/status', true)).toEqual({
      allowed: false,
      reason: 'RETAIN_NOT_ALLOWED',
    });
  });
});

describe('subscribe', () => {
  it('allows only the device’s own commands topic', () => {
    expect(authorizeDeviceSubscribe(own, 'devices/ox-1/commands')).toBeNull();
  });

  it.each([
    ['#', 'WILDCARD_NOT_ALLOWED'],
    ['devices/+/commands', 'WILDCARD_NOT_ALLOWED'],
    ['devices/ox-1/#', 'WILDCARD_NOT_ALLOWED'],
    ['$SYS/#', 'SYS_TOPIC_NOT_ALLOWED'],
    ['devices/ox-2/commands', 'SUBSCRIPTION_NOT_ALLOWED'],
    ['devices/ox-1/telemetry', 'SUBSCRIPTION_NOT_ALLOWED'],
  ])('refuses %s', (filter, reason) => {
    expect(authorizeDeviceSubscribe(own, filter)).toBe(reason);
  });
});

describe('last will', () => {
  it('allows none, or a non-retained will on the device’s own status topic', () => {
    expect(authorizeDeviceWill(own, undefined)).toBe(true);
    expect(authorizeDeviceWill(own, { topic: 'devices/ox-1/status', retain: false })).toBe(true);
  });

  it('refuses a retained will, a will elsewhere, and a will on telemetry', () => {
    expect(authorizeDeviceWill(own, { topic: 'devices/ox-1/status', retain: true })).toBe(false);
    expect(authorizeDeviceWill(own, { topic: 'devices/ox-2/status' })).toBe(false);
    expect(authorizeDeviceWill(own, { topic: 'devices/ox-1/telemetry' })).toBe(false);
  });
});
