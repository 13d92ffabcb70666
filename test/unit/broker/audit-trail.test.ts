// What the broker writes down for transport refusals: coded, and bounded per source so that a
// peer without credentials cannot flood the audit log.
import { describe, expect, it } from 'vitest';
import { BrokerAuditTrail } from '../../../broker/audit-trail.js';
import type { AuditEntryInput } from '../../../core/audit.js';
import type { ControlPlane } from '../../../core/store/control-plane.js';
import type { NewSecurityEvent, SecurityEvent } from '../../../core/store/security-events.js';

function trail() {
  const audit: AuditEntryInput[] = [];
  const events: SecurityEvent[] = [];
  let clock = 0;
  const store = {
    audit: { append: (e: AuditEntryInput) => audit.push(e) },
    securityEvents: {
      add: (e: NewSecurityEvent) => ({
        id: 1,
        at: clock,
        deviceId: null,
        username: null,
        source: null,
        details: null,
        ...e,
      }),
    },
  } as unknown as ControlPlane;
  const t = new BrokerAuditTrail(
    store,
    (e) => events.push(e),
    () => clock,
  );
  return { t, audit, events, tick: (ms: number) => (clock += ms) };
}

describe('BrokerAuditTrail.transportRefused', () => {
  it('audits a refusal with its code and cause, and publishes a security event', () => {
    const { t, audit, events } = trail();
    expect(
      t.transportRefused({ code: 'CERTIFICATE_REVOKED', source: '10.0.0.5', cause: 'CERT_REVOKED' }),
    ).toBe(true);
    expect(audit).toEqual([
      {
        actor: 'device:unknown',
        action: 'broker.connect',
        outcome: 'denied',
        source: '10.0.0.5',
        details: { code: 'CERTIFICATE_REVOKED', cause: 'CERT_REVOKED' },
      },
    ]);
    expect(events).toMatchObject([{ kind: 'connection_refused', severity: 'medium', source: '10.0.0.5' }]);
  });

  it('treats a CRL problem as critical: every device would be refused', () => {
    const { t, events } = trail();
    t.transportRefused({ code: 'CRL_UNAVAILABLE', source: '10.0.0.5', cause: 'CRL_HAS_EXPIRED' });
    expect(events[0]).toMatchObject({ severity: 'critical' });
  });

  it('does not record a peer that simply left', () => {
    const { t, audit } = trail();
    expect(t.transportRefused({ code: 'HANDSHAKE_ABORTED', source: '10.0.0.5' })).toBe(false);
    expect(audit).toHaveLength(0);
  });

  it('records 20 per source and minute, then says once that it stopped, then resumes', () => {
    const { t, audit, events, tick } = trail();
    for (let i = 0; i < 50; i++) t.transportRefused({ code: 'NOT_TLS', source: '10.0.0.9' });
    t.transportRefused({ code: 'NOT_TLS', source: '10.0.0.10' });
    expect(audit.filter((e) => e.source === '10.0.0.9')).toHaveLength(20);
    expect(audit.filter((e) => e.source === '10.0.0.10')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'connection_refusal_flood')).toHaveLength(1);
    tick(60_000);
    expect(t.transportRefused({ code: 'NOT_TLS', source: '10.0.0.9' })).toBe(true);
  });
});
