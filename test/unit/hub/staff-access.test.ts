import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../core/store/database.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import { PHI_READ_ACTION, StaffAccessMonitor } from '../../../hub/monitoring/staff-access.js';

function hub(start = Date.UTC(2026, 10, 23, 10, 0)) {
  let now = start;
  const store = new ControlPlane(openDatabase(':memory:'), () => now);
  const read = (user: string, patient: string, source = '10.1.2.3') =>
    store.audit.append({
      actor: `user:${user}`,
      action: PHI_READ_ACTION,
      target: `patient:${patient}`,
      outcome: 'success',
      source,
    });
  return {
    store,
    read,
    advance: (ms: number) => (now += ms),
    monitor: new StaffAccessMonitor(store, undefined, (at) => new Date(at).getUTCHours()),
  };
}

describe('staff access anomalies', () => {
  it('ordinary reads in working hours from a known network raise nothing', () => {
    const h = hub();
    h.read('dr.a', 'p1');
    h.advance(60_000);
    h.read('dr.a', 'p2');
    expect(h.monitor.scan()).toEqual([]);
    expect(h.store.securityEvents.list()).toEqual([]);
  });

  it('flags PHI reads at night', () => {
    const h = hub(Date.UTC(2026, 10, 23, 3, 0));
    h.read('dr.b', 'p1');
    expect(h.monitor.scan()).toEqual([{ username: 'dr.b', anomaly: 'unusual_hours' }]);
    expect(h.store.securityEvents.list({ kind: 'staff_unusual_hours' })[0]).toMatchObject({
      username: 'dr.b',
      details: { hour: 3 },
    });
  });

  it('flags a read from a network the user has not used', () => {
    const h = hub();
    h.read('dr.c', 'p1', '10.1.2.3');
    h.monitor.scan();
    h.advance(3_600_000);
    h.read('dr.c', 'p1', '203.0.113.9');
    expect(h.monitor.scan()).toEqual([{ username: 'dr.c', anomaly: 'new_network' }]);
  });

  it('flags bulk access to many patients in a short window, once per scan', () => {
    const h = hub();
    for (let i = 0; i < 25; i++) {
      h.read('dr.d', `p${i}`);
      h.advance(5_000);
    }
    expect(h.monitor.scan()).toEqual([{ username: 'dr.d', anomaly: 'bulk_access' }]);
    expect(h.store.securityEvents.list({ kind: 'staff_bulk_access' })).toHaveLength(1);
  });
});
