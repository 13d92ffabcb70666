import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { envName, loadConfig } from '../../../core/config.js';
import { NetworkPolicy } from '../../../core/cidr.js';

describe('loadConfig', () => {
  it('has safe defaults: loopback bind, TLS ports, 15-minute idle timeout', () => {
    const config = loadConfig({ env: {} });
    expect(config.bind).toBe('127.0.0.1');
    expect(config.mqttPort).toBe(8883);
    expect(config.apiPort).toBe(8443);
    expect(config.sessionIdleMinutes).toBe(15);
    expect(config.dataDir).toMatch(/\.vitalgate$/);
  });

  it('maps settings to env var names', () => {
    expect(envName('mqttPort')).toBe('VITALGATE_MQTT_PORT');
    expect(envName('influxUrl')).toBe('VITALGATE_INFLUX_URL');
    expect(
      loadConfig({ env: { VITALGATE_MQTT_PORT: '0', VITALGATE_PHI_NETWORKS: '10.1.0.0/16, ::1/128' } }),
    ).toMatchObject({
      mqttPort: 0,
      phiNetworks: ['10.1.0.0/16', '::1/128'],
    });
  });

  it('stops with one line naming the setting', () => {
    expect(() => loadConfig({ env: { VITALGATE_MQTT_PORT: 'abc' } })).toThrow(
      /^config: VITALGATE_MQTT_PORT: .*"abc"/,
    );
    expect(() => loadConfig({ env: { VITALGATE_BIND: 'everywhere' } })).toThrow(/VITALGATE_BIND/);
    expect(() => loadConfig({ env: { VITALGATE_PHI_NETWORKS: '10.0.0.0/33' } })).toThrow(
      /VITALGATE_PHI_NETWORKS/,
    );
    expect(() => loadConfig({ env: { VITALGATE_MQTT_PROT: '1' } })).toThrow(
      /VITALGATE_MQTT_PROT is not a VitalGate setting/,
    );
  });

  it('never echoes a secret value', () => {
    let message = '';
    try {
      loadConfig({ env: { VITALGATE_MASTER_KEY: 'not-a-real-key-but-secret' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/VITALGATE_MASTER_KEY/);
    expect(message).not.toContain('not-a-real-key-but-secret');
  });

  it('reads a JSON config file, with env winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ apiPort: 9443, publicHost: 'hub.example.org' }));
    expect(loadConfig({ env: { VITALGATE_API_PORT: '7443' }, file })).toMatchObject({
      apiPort: 7443,
      publicHost: 'hub.example.org',
    });
    writeFileSync(file, JSON.stringify({ apiPort: 'x' }));
    expect(() => loadConfig({ env: {}, file })).toThrow(`config: apiPort in ${file}:`);
    writeFileSync(file, JSON.stringify({ colour: 'blue' }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/colour is not a VitalGate setting/);
    writeFileSync(file, '{nope');
    expect(() => loadConfig({ env: {}, file })).toThrow(/is not valid JSON/);
  });
});

describe('the settings against hostile input and faults (issue 22)', () => {
  it('validates the handshake, replay-window, InfluxDB restart and PKI URL settings, naming each', () => {
    expect(loadConfig({ env: {} })).toMatchObject({
      tlsHandshakeTimeoutSeconds: 10,
      pendingHandshakesPerSource: 64,
      seqMaxJump: 1_000_000,
      influxRestartDelayMs: 250,
    });
    for (const [name, value] of [
      ['VITALGATE_TLS_HANDSHAKE_TIMEOUT_SECONDS', '0'],
      ['VITALGATE_TLS_HANDSHAKE_TIMEOUT_SECONDS', '121'],
      ['VITALGATE_PENDING_HANDSHAKES_PER_SOURCE', '0'],
      ['VITALGATE_SEQ_MAX_JUMP', '-1'],
      ['VITALGATE_INFLUX_RESTART_DELAY_MS', '60000'],
      ['VITALGATE_PKI_PUBLIC_URL', 'ftp://hub.example.org'],
      ['VITALGATE_PKI_PUBLIC_URL', 'https://hub.example.org:0'],
      ['VITALGATE_PKI_PUBLIC_URL', 'https://hub.example.org/?x=1'],
    ] as const) {
      expect(() => loadConfig({ env: { [name]: value } }), `${name}=${value}`).toThrow(`config: ${name}:`);
    }
  });
});

describe('NetworkPolicy', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    const policy = new NetworkPolicy(['10.0.0.0/8', '::1/128']);
    expect(policy.allows('10.2.3.4')).toBe(true);
    expect(policy.allows('::ffff:10.2.3.4')).toBe(true);
    expect(policy.allows('::1')).toBe(true);
    expect(policy.allows('192.168.1.1')).toBe(false);
    expect(policy.allows('garbage')).toBe(false);
    expect(policy.allows(undefined)).toBe(false);
    expect(new NetworkPolicy([]).allows('10.0.0.1')).toBe(false);
  });
});
