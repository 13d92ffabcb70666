// Signed commands from the hub to devices (SPEC §4). The signature is ECDSA P-256 / SHA-256 over
// the canonical JSON of the command without `sig` (keys sorted), base64url in IEEE P1363 form.
// Devices verify against the command-signer certificate they received at enrollment, and
// refuse a command whose signature, expiry or id does not check out, or that they have seen.
import { createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/audit.js';

export const COMMAND_TYPES = ['wipe', 'disable', 'rotate-cert', 'config', 'ping'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export interface UnsignedCommand {
  id: string;
  type: CommandType;
  issuedAt: number;
  expiresAt: number;
  params: Record<string, unknown>;
}

export interface SignedCommand extends UnsignedCommand {
  sig: string;
}

export type CommandVerdict =
  | { ok: true; command: SignedCommand }
  | {
      ok: false;
      code: 'COMMAND_MALFORMED' | 'COMMAND_SIGNATURE_INVALID' | 'COMMAND_EXPIRED' | 'COMMAND_REPLAYED';
    };

function signedBytes(command: UnsignedCommand): Buffer {
  const { id, type, issuedAt, expiresAt, params } = command;
  return Buffer.from(canonicalJson({ id, type, issuedAt, expiresAt, params }), 'utf8');
}

/** `key` is the command signer's private key. */
export function signCommand(command: UnsignedCommand, key: KeyObject): SignedCommand {
  const sig = createSign('sha256')
    .update(signedBytes(command))
    .sign({ key, dsaEncoding: 'ieee-p1363' })
    .toString('base64url');
  return { ...command, sig };
}

export function verifyCommand(
  input: unknown,
  signerCertificatePem: string,
  options: { now: number; seenIds: ReadonlySet<string> },
): CommandVerdict {
  if (!isCommandShape(input)) return { ok: false, code: 'COMMAND_MALFORMED' };
  const publicKey = createPublicKey(signerCertificatePem);
  const valid = createVerify('sha256')
    .update(signedBytes(input))
    .verify({ key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(input.sig, 'base64url'));
  if (!valid) return { ok: false, code: 'COMMAND_SIGNATURE_INVALID' };
  if (input.expiresAt <= options.now || input.issuedAt > options.now + 300_000) {
    return { ok: false, code: 'COMMAND_EXPIRED' };
  }
  if (options.seenIds.has(input.id)) return { ok: false, code: 'COMMAND_REPLAYED' };
  return { ok: true, command: input };
}

function isCommandShape(v: unknown): v is SignedCommand {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.id === 'string' &&
    c.id.length > 0 &&
    c.id.length <= 128 &&
    typeof c.type === 'string' &&
    (COMMAND_TYPES as readonly string[]).includes(c.type) &&
    Number.isSafeInteger(c.issuedAt) &&
    Number.isSafeInteger(c.expiresAt) &&
    typeof c.params === 'object' &&
    c.params !== null &&
    !Array.isArray(c.params) &&
    typeof c.sig === 'string'
  );
}
