// The login throttle's keys and blocks: which addresses are one network, and how the block grows.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../core/store/database.js';
import { LoginThrottleRepository } from '../../../core/store/login-throttle.js';
import {
  LoginThrottle,
  sourceNetwork,
  THROTTLE_MEMORY_MS,
} from '../../../dashboard-api/auth/login-throttle.js';

describe('source networks', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:DB8:0:1:aaaa:bbbb:cccc:1', '2001:db8:0:1::/64'],
    ['2001:db8:0:1::2', '2001:db8:0:1::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
    ['not an address', 'unknown'],
  ])('%s is %s', (address, network) => {
    expect(sourceNetwork(address)).toBe(network);
  });
});

describe('blocks', () => {
  const config = { lockoutThreshold: 3, lockoutMinutes: 10 };
  const fresh = () => {
    let now = 1_000_000_000_000;
    const throttle = new LoginThrottle(
      new LoginThrottleRepository(openDatabase(':memory:')),
      config,
      () => now,
    );
    return { throttle, advance: (ms: number) => (now += ms) };
  };

  it('start at the threshold, per name and network, and double once a block has passed', () => {
    const { throttle, advance } = fresh();
    expect(throttle.fail('dr.a', '192.0.2.1').newlyBlocked).toBe(false);
    expect(throttle.fail('dr.a', '192.0.2.1').newlyBlocked).toBe(false);
    const third = throttle.fail('dr.a', '192.0.2.1');
    expect(third.newlyBlocked).toBe(true);
    expect(throttle.verdict('dr.a', '192.0.2.1')).toEqual({ blocked: true, retryAfterSeconds: 600 });
    expect(throttle.verdict('dr.a', '192.0.2.2').blocked).toBe(false); // another network
    expect(throttle.verdict('dr.b', '192.0.2.1').blocked).toBe(false); // another name
    advance(601_000);
    expect(throttle.verdict('dr.a', '192.0.2.1').blocked).toBe(false);
    throttle.fail('dr.a', '192.0.2.1');
    expect(throttle.verdict('dr.a', '192.0.2.1').retryAfterSeconds).toBe(1200);
    throttle.clear('dr.a', '::ffff:192.0.2.1');
    expect(throttle.verdict('dr.a', '192.0.2.1').blocked).toBe(false);
  });

  it('forget failures after a day', () => {
    const { throttle, advance } = fresh();
    throttle.fail('dr.a', '192.0.2.1');
    throttle.fail('dr.a', '192.0.2.1');
    advance(THROTTLE_MEMORY_MS + 1);
    expect(throttle.fail('dr.a', '192.0.2.1')).toMatchObject({ failures: 1, newlyBlocked: false });
  });
});
