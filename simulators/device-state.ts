// What a simulated device keeps on its flash, in its own directory (mode 0700):
//
//   key.pem             its private key (PKCS#8, mode 0600), generated on the device
//   cert.pem            its certificate from the hub
//   ca.pem              the hub CA bundle (trust anchor for the broker and the API)
//   command-signer.pem  the hub's command-signing certificate, pinned at enrollment
//   identity.json       serial, notAfter and the MQTT endpoint from the enrollment reply
//   state.json          seq, disabled/wiped flags and the ids of commands already acted on
//   outbox/             the store-and-forward buffer (outbox.ts)
//
// Every write is atomic (temp file, then rename), and `seq` is persisted before the message
// that carries it is published, so a restarted device never reuses one.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceKind } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';

export interface DeviceCredentials {
  keyPem: string;
  certPem: string;
  caBundlePem: string;
  signerPem: string;
  serial: string;
  /** Epoch ms. */
  notAfter: number;
  /** Epoch ms when the certificate was received (its lifetime runs from here for renewal). */
  issuedAt: number;
  mqtt: { host: string; port: number };
}

interface StateFile {
  v: 1;
  deviceId: string;
  kind: DeviceKind;
  seq: number;
  disabled: boolean;
  wiped: boolean;
  /** Command id -> its expiresAt (epoch ms); forgotten once expired. */
  seenCommands: Record<string, number>;
}

interface IdentityFile {
  serial: string;
  notAfter: number;
  issuedAt: number;
  mqtt: { host: string; port: number };
}

export const FILES = {
  key: 'key.pem',
  cert: 'cert.pem',
  ca: 'ca.pem',
  signer: 'command-signer.pem',
  identity: 'identity.json',
  state: 'state.json',
  outbox: 'outbox',
} as const;

function writeAtomic(path: string, content: string, mode = 0o600): void {
  writeFileSync(`${path}.tmp`, content, { mode });
  renameSync(`${path}.tmp`, path);
}

export class DeviceStateDir {
  private state: StateFile;

  private constructor(
    readonly dir: string,
    state: StateFile,
  ) {
    this.state = state;
  }

  /** Opens the device's directory, creating it (and a fresh state) the first time. */
  static open(dir: string, deviceId: string, kind: DeviceKind): DeviceStateDir {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, FILES.state);
    let state: StateFile;
    if (existsSync(path)) {
      state = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
      if (state.deviceId !== deviceId) {
        throw new VitalGateError(
          'SIMULATOR_STATE_MISMATCH',
          `${dir} holds device ${state.deviceId}, not ${deviceId}`,
        );
      }
    } else {
      state = { v: 1, deviceId, kind, seq: 0, disabled: false, wiped: false, seenCommands: {} };
      writeAtomic(path, JSON.stringify(state));
    }
    return new DeviceStateDir(dir, state);
  }

  get deviceId(): string {
    return this.state.deviceId;
  }

  get kind(): DeviceKind {
    return this.state.kind;
  }

  get outboxDir(): string {
    return join(this.dir, FILES.outbox);
  }

  /** The last seq handed out (0 before the first message). */
  get lastSeq(): number {
    return this.state.seq;
  }

  get disabled(): boolean {
    return this.state.disabled;
  }

  get wiped(): boolean {
    return this.state.wiped;
  }

  /** Key, certificate and trust material, or undefined before enrollment (or after a wipe). */
  credentials(): DeviceCredentials | undefined {
    const file = (name: string) => join(this.dir, name);
    const names = [FILES.key, FILES.cert, FILES.ca, FILES.signer, FILES.identity];
    if (!names.every((n) => existsSync(file(n)))) return undefined;
    const identity = JSON.parse(readFileSync(file(FILES.identity), 'utf8')) as IdentityFile;
    return {
      keyPem: readFileSync(file(FILES.key), 'utf8'),
      certPem: readFileSync(file(FILES.cert), 'utf8'),
      caBundlePem: readFileSync(file(FILES.ca), 'utf8'),
      signerPem: readFileSync(file(FILES.signer), 'utf8'),
      ...identity,
    };
  }

  /** Stores new credentials (enrollment or renewal): the key first, the identity last. */
  saveCredentials(credentials: DeviceCredentials): void {
    const file = (name: string) => join(this.dir, name);
    writeAtomic(file(FILES.key), credentials.keyPem, 0o600);
    writeAtomic(file(FILES.cert), credentials.certPem, 0o644);
    writeAtomic(file(FILES.ca), credentials.caBundlePem, 0o644);
    writeAtomic(file(FILES.signer), credentials.signerPem, 0o644);
    const identity: IdentityFile = {
      serial: credentials.serial,
      notAfter: credentials.notAfter,
      issuedAt: credentials.issuedAt,
      mqtt: credentials.mqtt,
    };
    writeAtomic(file(FILES.identity), JSON.stringify(identity), 0o644);
    if (this.state.wiped) this.update({ wiped: false });
  }

  /**
   * The next seq, persisted before it is returned. `atLeast` lifts it past seqs found elsewhere
   * (a buffer written by an older run).
   */
  nextSeq(atLeast = 0): number {
    const seq = Math.max(this.state.seq, atLeast) + 1;
    this.update({ seq });
    return seq;
  }

  setDisabled(disabled: boolean): void {
    this.update({ disabled });
  }

  /** Ids of commands acted on that have not expired yet. */
  seenCommandIds(now: number): Set<string> {
    return new Set(
      Object.entries(this.state.seenCommands)
        .filter(([, expiresAt]) => expiresAt > now)
        .map(([id]) => id),
    );
  }

  rememberCommand(id: string, expiresAt: number, now: number): void {
    const seen: Record<string, number> = {};
    for (const [other, until] of Object.entries(this.state.seenCommands))
      if (until > now) seen[other] = until;
    seen[id] = expiresAt;
    this.update({ seenCommands: seen });
  }

  /** Wipe: the key, the certificate and the buffer are deleted; only the wiped flag remains. */
  wipe(): void {
    for (const name of [FILES.key, FILES.cert, FILES.identity]) rmSync(join(this.dir, name), { force: true });
    rmSync(this.outboxDir, { recursive: true, force: true });
    this.update({ wiped: true, disabled: false });
  }

  private update(change: Partial<StateFile>): void {
    this.state = { ...this.state, ...change };
    writeAtomic(join(this.dir, FILES.state), JSON.stringify(this.state));
  }
}
