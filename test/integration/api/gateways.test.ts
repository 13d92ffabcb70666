// Gateways over the API: a gateway registers and enrolls like any device; /gateways binds and
// unbinds the devices it relays (audited), and every bad request gets its coded error; the routes
// are in the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../../support/hub-pki.js';
import { enrolledUser, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let engineer: string;

beforeAll(async () => {
  hub = await startTestHub();
  engineer = (await enrolledUser(hub, 'eng.gw', 'engineer')).token;
}, 60_000);

afterAll(async () => hub?.close());

const call = (method: string, path: string, body?: unknown, token = engineer) =>
  hub.client.request(method, `/api/v1${path}`, { token, ...(body === undefined ? {} : { body }) });

describe('/api/v1/gateways', () => {
  it('a gateway enrolls like any device; binding and unbinding are audited', async () => {
    expect((await call('POST', '/devices', { id: 'gw-api', kind: 'gateway' })).status).toBe(201);
    const token = (await call('POST', '/devices/gw-api/enrollment-token')).body as { token: string };
    const { csrPem } = await makeCsr('gw-api');
    const enrolled = await hub.client.request('POST', '/api/v1/enroll', {
      body: { token: token.token, csr: csrPem },
    });
    expect(enrolled.status, enrolled.text).toBe(201);
    expect((await call('POST', '/devices', { id: 'bp-api', kind: 'bp_monitor' })).status).toBe(201);

    const bound = await call('POST', '/gateways/gw-api/devices', {
      deviceId: 'bp-api',
      systemId: '0011223344556677',
    });
    expect(bound.status, bound.text).toBe(201);
    expect(bound.body).toMatchObject({
      gatewayId: 'gw-api',
      deviceId: 'bp-api',
      status: 'active',
      systemId: '0011223344556677',
    });
    expect((await call('GET', '/gateways/gw-api/devices')).body).toHaveLength(1);
    expect((await call('GET', '/gateways/bindings')).body).toEqual([
      expect.objectContaining({ deviceId: 'bp-api' }),
    ]);
    expect((await call('DELETE', '/gateways/gw-api/devices/bp-api')).status).toBe(200);
    expect((await call('GET', '/gateways/gw-api/devices')).body).toEqual([]);
    const audit = hub.pki.store.audit.list({ target: 'device:bp-api' }).map((e) => [e.action, e.actor]);
    expect(audit).toEqual(
      expect.arrayContaining([
        ['gateway.bind', 'user:eng.gw'],
        ['gateway.unbind', 'user:eng.gw'],
      ]),
    );
  });

  it('answers bad requests with coded errors and changes nothing', async () => {
    await call('POST', '/devices', { id: 'ox-api', kind: 'pulse_oximeter' });
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/gateways/gw-none/devices', { deviceId: 'ox-api' }, 404, 'GATEWAY_NOT_FOUND'],
      ['POST', '/gateways/ox-api/devices', { deviceId: 'bp-api' }, 400, 'NOT_A_GATEWAY'],
      [
        'POST',
        '/gateways/gw-api/devices',
        { deviceId: 'ox-api', systemId: 'not-an-id' },
        400,
        'SYSTEM_ID_INVALID',
      ],
      ['POST', '/gateways/gw-api/devices', { deviceId: 'gw-api' }, 400, 'DEVICE_KIND_INVALID'],
      ['POST', '/gateways/gw-api/devices', { deviceId: 'no-such' }, 404, 'DEVICE_NOT_FOUND'],
      ['DELETE', '/gateways/gw-api/devices/ox-api', undefined, 404, 'GATEWAY_BINDING_NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await call(method, path, body);
      expect([res.status, (res.body as { error?: { code: string } }).error?.code], path).toEqual([
        status,
        code,
      ]);
    }
    const unknownField = await call('POST', '/gateways/gw-api/devices', {
      deviceId: 'ox-api',
      room: 'kitchen',
    });
    expect(unknownField.status).toBe(400);
    expect(hub.pki.store.gatewayBindings.list()).toEqual([]);
    const clinician = (await enrolledUser(hub, 'dr.gw', 'clinician')).token;
    expect((await call('POST', '/gateways/gw-api/devices', { deviceId: 'ox-api' }, clinician)).status).toBe(
      403,
    );
  });

  it('is in the OpenAPI document', async () => {
    const docs = await hub.client.request('GET', '/docs/json');
    const paths = Object.keys((docs.body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/gateways/bindings',
        '/api/v1/gateways/{id}/devices',
        '/api/v1/gateways/{id}/devices/{deviceId}',
      ]),
    );
  });
});
