// Network and fleet checks against a live broker (real TLS), and against listeners broken in
// exactly the way each check looks for: a plaintext Mosquitto, a TLS 1.0/CBC server, a broker
// that does not ask for client certificates.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckContext, DeploymentCheck } from '../../../hub/checks/check.js';
import * as fleet from '../../../hub/checks/fleet.js';
import { liveHubInProcess } from '../../../hub/checks/live.js';
import * as network from '../../../hub/checks/network.js';
import { freePort } from '../../../hub/influxd.js';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { checkContext } from '../../support/checks.js';
import { eventually } from '../broker/harness.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki);
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
});

function ctx(port = broker.port, overrides: Partial<CheckContext> = {}): CheckContext {
  return checkContext(pki, {
    live: liveHubInProcess(pki.config, { mqttPort: port, apiPort: null }, () => broker.broker.liveSessions()),
    ...overrides,
  });
}
const run = (check: DeploymentCheck, c: CheckContext = ctx()) => Promise.resolve(check.run(c));

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('live listener probes', () => {
  it('are not applicable when the hub is not running', async () => {
    expect((await run(network.noPlaintextListener, ctx(broker.port, { live: undefined }))).status).toBe(
      'not_applicable',
    );
  });

  it('VG-NET-001 passes on the hub and fails against a plaintext Mosquitto', async () => {
    expect(await run(network.noPlaintextListener)).toMatchObject({ status: 'pass' });
    const port = await freePort();
    const mosquitto: ChildProcess = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && (await run(network.noPlaintextListener, ctx(port))).status !== 'fail'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const outcome = await run(network.noPlaintextListener, ctx(port));
      expect(outcome).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining(`127.0.0.1:${port}`),
      });
    } finally {
      mosquitto.kill();
    }
  });

  it('VG-NET-002 passes on the hub and fails against a TLS 1.0 / CBC listener', async () => {
    const good = await run(network.tlsVersionAndCiphers);
    expect(good).toMatchObject({ status: 'pass', evidence: expect.stringMatching(/GCM|CHACHA20/) });
    const tls = pki.authority.serverTls();
    const weak = createTlsServer({
      ...tls,
      minVersion: 'TLSv1',
      ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256@SECLEVEL=0',
    });
    weak.on('secureConnection', (s) => s.end());
    const port = await listening(weak);
    try {
      const outcome = await run(network.tlsVersionAndCiphers, ctx(port));
      expect(outcome.status).toBe('fail');
      expect(outcome.evidence).toMatch(/CBC suite|TLSv1/);
      // The same weak server as the API listener beside a good device listener.
      const api = await run(
        network.tlsVersionAndCiphers,
        ctx(broker.port, {
          live: liveHubInProcess(pki.config, { mqttPort: broker.port, apiPort: port }, () => []),
        }),
      );
      expect(api.status).toBe('fail');
      expect(api.evidence).toMatch(/^API listener accepted (TLSv1|CBC suite)/);
      expect(api.evidence).not.toContain('device listener');
    } finally {
      weak.close();
    }
  });

  it('VG-NET-003 passes on the hub and fails against a broker without client certificates', async () => {
    expect((await run(network.clientCertificateRequired)).status).toBe('pass');
    const aedes = await Aedes.createBroker();
    const open = createTlsServer(pki.authority.serverTls(), aedes.handle);
    const port = await listening(open);
    try {
      const outcome = await run(network.clientCertificateRequired, ctx(port));
      expect(outcome).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining('without a client certificate'),
      });
    } finally {
      open.close();
      aedes.close();
    }
  });
});

describe('what the broker recorded', () => {
  it('VG-NET-006/007 fail after a takeover of a live session with the same certificate', async () => {
    expect((await run(network.conflictingClientIds)).status).toBe('pass');
    expect((await run(network.sharedCertificates)).status).toBe('pass');
    const dev = await pki.issueDevice('wear-dup', 'wearable');
    const first = await connectDevice(broker.port, dev, 'wear-dup');
    const second = await connectDevice(broker.port, dev, 'wear-dup');
    expect(await run(network.conflictingClientIds)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('wear-dup'),
    });
    first.end(true);
    second.end(true);
    // Both sessions came from 127.0.0.1: the same certificate from the same address is a takeover,
    // not a shared certificate.
    expect((await run(network.sharedCertificates)).status).toBe('pass');
    pki.store.securityEvents.add({
      kind: 'shared_certificate',
      severity: 'high',
      deviceId: 'wear-dup',
      source: '10.0.0.9',
    });
    expect(await run(network.sharedCertificates)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('wear-dup'),
    });
  });

  it('VG-NET-008 warns after a connection from outside the allowed networks', async () => {
    expect((await run(network.outsideAllowedNetworks)).status).toBe('pass');
    const dev = await pki.issueDevice('bp-home', 'bp_monitor');
    pki.store.devices.setAllowedNetworks('bp-home', ['10.20.0.0/16']);
    await expect(connectDevice(broker.port, dev, 'bp-home')).rejects.toThrow(/Not authorized/i);
    expect(await run(network.outsideAllowedNetworks)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('bp-home'),
    });
  });

  it('VG-NET-005 warns when limits are effectively off', async () => {
    expect((await run(network.limitsOn)).status).toBe('pass');
    const loose = ctx(broker.port, { config: { ...pki.config, maxPayloadBytes: 8 * 1024 * 1024 } });
    expect((await run(network.limitsOn, loose)).status).toBe('warn');
  });
});

describe('fleet checks', () => {
  it('VG-DEV-004 warns about an active device that went silent, and not about a connected one', async () => {
    const dev = await pki.issueDevice('therm-silent', 'thermometer');
    const client = await connectDevice(broker.port, dev, 'therm-silent');
    const later = ctx(broker.port, { now: Date.now() + 2 * 3_600_000 });
    expect(await run(fleet.silentDevices, later)).not.toMatchObject({
      evidence: expect.stringContaining('therm-silent'),
    });
    await client.endAsync();
    await eventually(() =>
      expect(broker.broker.liveSessions().some((s) => s.deviceId === 'therm-silent')).toBe(false),
    );
    expect(await run(fleet.silentDevices, later)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('therm-silent'),
    });
  });

  it('VG-DEV-005 warns about a pending device whose token expired', async () => {
    pki.store.devices.add({ id: 'scale-new', kind: 'weight_scale' });
    pki.tokens.issue('scale-new', 1, 'test');
    await new Promise((r) => setTimeout(r, 5));
    expect(await run(fleet.expiredPendingEnrollments)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('scale-new'),
    });
    pki.tokens.issue('scale-new', 3_600_000, 'test');
    expect(await run(fleet.expiredPendingEnrollments)).not.toMatchObject({
      evidence: expect.stringContaining('scale-new'),
    });
  });

  it('VG-DEV-006 fails for an active device unseen for 30 days', async () => {
    const later = ctx(broker.port, { now: Date.now() + 31 * 86_400_000 });
    expect(await run(fleet.staleDevices, later)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('therm-silent'),
    });
  });
});

describe('active self-tests', () => {
  it('VG-PKI-009: the canary connects, is revoked and is then refused by the live broker', async () => {
    const { revocationCanary } = await import('../../../hub/checks/canary.js');
    const outcome = await run(revocationCanary);
    expect(outcome).toMatchObject({
      status: 'pass',
      evidence: expect.stringMatching(/^canary canary-[0-9a-f]{8} connected, was revoked/),
    });
    const id = /canary (canary-[0-9a-f]{8})/.exec(outcome.evidence)![1]!;
    expect(pki.store.devices.require(id).status).toBe('revoked');
    expect(pki.store.audit.list({ action: 'device.revoke', target: `device:${id}` })[0]?.actor).toBe(
      'system:checks',
    );
  });

  it('VG-PKI-009 fails against a broker that does not enforce revocation', async () => {
    const { revocationCanary } = await import('../../../hub/checks/canary.js');
    // Mutual TLS against the hub CA, but no CRL and no device registry: revocation never bites.
    const aedes = await Aedes.createBroker();
    const lax = createTlsServer(
      {
        ...pki.authority.serverTls(),
        ca: pki.authority.caBundlePem(),
        requestCert: true,
        rejectUnauthorized: true,
      },
      aedes.handle,
    );
    const port = await listening(lax);
    try {
      const outcome = await run(revocationCanary, ctx(port));
      expect(outcome).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining('still got a session'),
      });
    } finally {
      lax.close();
      aedes.close();
    }
  });

  it('VG-NET-004: the ACL refuses hostile topics', async () => {
    const { aclLint } = await import('../../../hub/checks/canary.js');
    expect(await run(aclLint)).toMatchObject({ status: 'pass' });
  });

  it('VG-NET-004 fails on an ACL that grants too much, or too little', async () => {
    const { BROKER_ACL, aclLintOf } = await import('../../../hub/checks/canary.js');
    const lint = (acl: Partial<typeof BROKER_ACL>) => run(aclLintOf({ ...BROKER_ACL, ...acl }));
    // Each broken ACL is the broker's own with one mistake in it.
    expect(
      await lint({ subscribe: (t, filter) => (filter === '#' ? null : BROKER_ACL.subscribe(t, filter)) }),
    ).toMatchObject({ status: 'fail', evidence: 'the ACL allows #' });
    expect(
      await lint({
        publish: (t, topic, retain) =>
          topic.startsWith('devices/other/')
            ? { allowed: true, kind: 'telemetry' }
            : BROKER_ACL.publish(t, topic, retain),
      }),
    ).toMatchObject({
      status: 'fail',
      evidence: 'the ACL allows devices/other/telemetry, devices/other/commands',
    });
    expect(
      await lint({
        subscribe: (t, filter) => (filter.startsWith('$SYS') ? null : BROKER_ACL.subscribe(t, filter)),
      }),
    ).toMatchObject({ status: 'fail', evidence: 'the ACL allows $SYS/#' });
    expect(
      await lint({ publish: (t, topic) => BROKER_ACL.publish(t, topic, false) }), // ignores the retain flag
    ).toMatchObject({
      status: 'fail',
      evidence: 'the ACL allows a retained publish on a device’s own telemetry',
    });
    expect(
      await lint({
        subscribe: (t, filter) =>
          filter === t.commands ? 'SUBSCRIPTION_NOT_ALLOWED' : BROKER_ACL.subscribe(t, filter),
      }),
    ).toMatchObject({
      status: 'fail',
      evidence: 'the ACL does not allow a device its own topics as specified',
    });
  });
});
