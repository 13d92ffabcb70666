// Signed commands from the hub to devices (SPEC §4). Devices (and the simulators) verify them
// against the command-signer certificate they received at enrollment, and ignore a command whose
// signature, time window, audience or id does not check out, or that they have already seen.
//
// Wire form: the command JSON with a `sig` member. The signature is ECDSA P-256 with SHA-256
// over the UTF-8 bytes of the canonical JSON of every member except `sig`, in IEEE P1363 form
// (r || s, 64 bytes), base64url without padding. Canonical JSON is RFC 8785 (JCS) for the values
// a command can hold: object members sorted by UTF-16 code units, no whitespace, strings and
// numbers as ECMAScript JSON.stringify writes them; non-finite numbers and non-JSON values are
// refused. Unknown members are signed too, so nothing can be added to a command unnoticed.
//
// The optional `aud` member names the one device a command is for; a device that knows its id
// refuses a command addressed to another (COMMAND_WRONG_DEVICE).
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';

export const COMMAND_TYPES = ['wipe', 'disable', 'rotate-cert', 'config', 'ping'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export interface UnsignedCommand {
  id: string;
  type: CommandType;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms; the command is void from this instant. */
  expiresAt: number;
  params: Record<string, unknown>;
  /** The device id the command is for. */
  aud?: string;
}

export interface SignedCommand extends UnsignedCommand {
  sig: string;
}

export type CommandRefusal =
  | 'COMMAND_MALFORMED'
  | 'COMMAND_SIGNATURE_INVALID'
  | 'COMMAND_EXPIRED'
  | 'COMMAND_NOT_YET_VALID'
  | 'COMMAND_WRONG_DEVICE'
  | 'COMMAND_REPLAYED';

export type CommandVerdict = { ok: true; command: SignedCommand } | { ok: false; code: CommandRefusal };

export interface VerifyCommandOptions {
  /** Epoch ms. */
  now: number;
  /** Ids of commands already acted on (keep each until its expiresAt has passed). */
  seenIds: ReadonlySet<string>;
  /** The verifying device's id: a command with an `aud` for another device is refused. */
  deviceId?: string;
  /** How far issuedAt may lie in the future (the signer's clock ahead of ours). Default 5 min. */
  maxClockSkewMs?: number;
}

const MAX_DEPTH = 16;
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/; // 64 bytes, base64url, unpadded

class NotJson extends Error {}

function canonical(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new NotJson('too deep');
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NotJson('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k], depth + 1)}`);
    return `{${members.join(',')}}`;
  }
  throw new NotJson(`not a JSON value: ${typeof value}`);
}

/** The signed bytes' text: canonical JSON of the command without `sig`. Throws on non-JSON values. */
export function canonicalCommandJson(command: object): string {
  const { sig: _sig, ...rest } = command as Record<string, unknown>;
  return canonical(rest, 0);
}

function isCommandShape(v: unknown): v is UnsignedCommand {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.id === 'string' &&
    c.id.length > 0 &&
    c.id.length <= 128 &&
    typeof c.type === 'string' &&
    (COMMAND_TYPES as readonly string[]).includes(c.type) &&
    Number.isSafeInteger(c.issuedAt) &&
    Number.isSafeInteger(c.expiresAt) &&
    (c.expiresAt as number) > (c.issuedAt as number) &&
    typeof c.params === 'object' &&
    c.params !== null &&
    !Array.isArray(c.params) &&
    (c.aud === undefined || (typeof c.aud === 'string' && c.aud.length > 0))
  );
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** Signs `command` with the command signer's P-256 private key (KeyObject or PKCS#8 PEM). */
export function signCommand(command: UnsignedCommand, key: KeyObject | string): SignedCommand {
  const privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  if (privateKey.type !== 'private' || !isP256(privateKey)) {
    throw new VitalGateError('KEY_UNSUPPORTED', 'commands are signed with an ECDSA P-256 private key');
  }
  if (!isCommandShape(command))
    throw new VitalGateError('COMMAND_MALFORMED', 'the command is not well-formed');
  let text: string;
  try {
    text = canonicalCommandJson(command);
  } catch {
    throw new VitalGateError('COMMAND_MALFORMED', 'the command holds a value JSON cannot carry');
  }
  const sig = sign('sha256', Buffer.from(text, 'utf8'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return { ...command, sig: sig.toString('base64url') };
}

const signerKeys = new Map<string, KeyObject | null>();

function signerKey(pem: string): KeyObject | null {
  let key = signerKeys.get(pem);
  if (key === undefined) {
    try {
      const k = createPublicKey(pem);
      key = isP256(k) ? k : null;
    } catch {
      key = null;
    }
    if (signerKeys.size >= 16) signerKeys.clear();
    signerKeys.set(pem, key);
  }
  return key;
}

/**
 * Verifies a received command against the signer certificate (PEM) pinned at enrollment.
 * Returns a coded verdict; never throws. The caller records the id once it acts on the command.
 */
export function verifyCommand(
  input: unknown,
  signerCertificatePem: string,
  options: VerifyCommandOptions,
): CommandVerdict {
  if (!isCommandShape(input)) return { ok: false, code: 'COMMAND_MALFORMED' };
  const command = input as SignedCommand;
  if (typeof command.sig !== 'string' || !SIGNATURE_PATTERN.test(command.sig)) {
    return { ok: false, code: 'COMMAND_SIGNATURE_INVALID' };
  }
  let text: string;
  try {
    text = canonicalCommandJson(command);
  } catch {
    return { ok: false, code: 'COMMAND_MALFORMED' };
  }
  const key = signerKey(signerCertificatePem);
  const valid =
    key !== null &&
    verify(
      'sha256',
      Buffer.from(text, 'utf8'),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(command.sig, 'base64url'),
    );
  if (!valid) return { ok: false, code: 'COMMAND_SIGNATURE_INVALID' };
  if (command.aud !== undefined && options.deviceId !== undefined && command.aud !== options.deviceId) {
    return { ok: false, code: 'COMMAND_WRONG_DEVICE' };
  }
  if (command.expiresAt <= options.now) return { ok: false, code: 'COMMAND_EXPIRED' };
  if (command.issuedAt > options.now + (options.maxClockSkewMs ?? 300_000)) {
    return { ok: false, code: 'COMMAND_NOT_YET_VALID' };
  }
  if (options.seenIds.has(command.id)) return { ok: false, code: 'COMMAND_REPLAYED' };
  return { ok: true, command };
}
