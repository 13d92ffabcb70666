// Passkeys (WebAuthn) with @simplewebauthn/server: registration from a live session, sign-in
// without a password (discoverable credentials), and step-up. User verification is required in
// every ceremony (a fingerprint, a face or a PIN, not just a touch). The relying party id is the
// hub's public host; the origin must be that host on the API's port. Challenges are random,
// short-lived, bound to their purpose (and session), stored as hashes and spent once. A signature
// counter that goes backwards means a cloned authenticator: the assertion is refused, the
// passkey flagged (it signs no one in again), a security event raised and the refusal audited.
import { createHash, randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { AuditLog } from '../../core/audit.js';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { PasskeyRecord, PasskeyRepository } from '../../core/store/passkeys.js';
import type { SecurityEventRepository } from '../../core/store/security-events.js';
import type { UserRepository } from '../../core/store/users.js';
import type { WebAuthnChallengeRepository, WebAuthnPurpose } from '../../core/store/webauthn-challenges.js';
import { auditOwnAccount } from './login.js';
import type { IssuedSession, Principal, SessionService } from './sessions.js';

/** How long a ceremony's challenge can be answered. */
const CHALLENGE_TTL_MS = 2 * 60_000;
const CEREMONY_TIMEOUT_MS = 60_000;
const RP_NAME = 'VitalGate';

export interface PasskeyDeps {
  passkeys: PasskeyRepository;
  challenges: WebAuthnChallengeRepository;
  users: UserRepository;
  sessions: SessionService;
  audit: AuditLog;
  securityEvents: SecurityEventRepository;
  config: Pick<HubConfig, 'publicHost' | 'passkeyRequiredRoles'>;
  now: () => number;
}

/** What a request tells the ceremonies about where it came from. */
export interface CeremonyRequest {
  /** The port the API answered on: part of the expected origin. */
  port: number;
  source: string | undefined;
}

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  synced: boolean;
  flagged: boolean;
}

export function passkeyView(p: PasskeyRecord): PasskeyView {
  return {
    id: p.id,
    name: p.name,
    createdAt: new Date(p.createdAt).toISOString(),
    lastUsedAt: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
    synced: p.backedUp,
    flagged: p.flaggedAt !== null,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function invalid(message = 'the passkey response is not valid; try again'): VitalGateError {
  return new VitalGateError('PASSKEY_INVALID', message);
}

/** The challenge the browser signed, read from clientDataJSON (verified again by the library). */
function signedChallenge(clientDataJSON: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as unknown;
    const challenge = (parsed as { challenge?: unknown }).challenge;
    if (typeof challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(challenge)) return challenge;
  } catch {
    // fall through
  }
  throw invalid();
}

export class PasskeyCeremonies {
  constructor(private readonly deps: PasskeyDeps) {}

  private get rpID(): string {
    return this.deps.config.publicHost;
  }

  private origins(port: number): string[] {
    const host = this.rpID.includes(':') ? `[${this.rpID}]` : this.rpID;
    return port === 443 ? [`https://${host}`, `https://${host}:443`] : [`https://${host}:${port}`];
  }

  /** Whether the user's role must sign in with passkeys and the user holds none yet. */
  mustRegister(username: string, role: string): boolean {
    return (
      (this.deps.config.passkeyRequiredRoles as readonly string[]).includes(role) &&
      this.deps.passkeys.activeOf(username).length === 0
    );
  }

  list(username: string): PasskeyView[] {
    return this.deps.passkeys.listOf(username).map(passkeyView);
  }

  async registrationOptions(principal: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = this.deps.passkeys.listOf(principal.username);
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: this.rpID,
      userName: principal.username,
      userID: createHash('sha256').update(`vitalgate-user:${principal.username}`).digest().subarray(0, 32),
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    this.issue(options.challenge, 'register', principal.username, principal.sessionHash);
    return options;
  }

  async register(
    principal: Principal,
    response: RegistrationResponseJSON,
    name: string,
    request: CeremonyRequest & { staffDeviceId?: string | null },
  ): Promise<PasskeyView> {
    const refuse = (code: string, err: VitalGateError = invalid()): never => {
      this.auditUser(principal.username, 'auth.passkey.register', 'denied', request.source, { code });
      throw err;
    };
    const challenge = signedChallenge(response.response?.clientDataJSON ?? '');
    if (!this.take(challenge, 'register', principal.sessionHash)) refuse('CHALLENGE_INVALID');
    let info;
    try {
      const verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origins(request.port),
        expectedRPID: this.rpID,
        requireUserVerification: true,
      });
      if (!verified.verified) refuse('PASSKEY_INVALID');
      info = verified.registrationInfo!;
    } catch (err) {
      if (err instanceof VitalGateError) throw err;
      refuse('PASSKEY_INVALID');
    }
    const credential = info!.credential;
    if (this.deps.passkeys.byCredentialId(credential.id)) {
      refuse('PASSKEY_EXISTS', invalid('this passkey is registered already'));
    }
    const record = {
      id: `pk_${randomBytes(12).toString('base64url')}`,
      username: principal.username,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey),
      signCount: credential.counter,
      transports: (credential.transports ?? []).filter((t) => /^[a-z-]{1,20}$/.test(t)),
      deviceType: info!.credentialDeviceType,
      backedUp: info!.credentialBackedUp,
      aaguid: info!.aaguid,
      name,
      staffDeviceId: request.staffDeviceId ?? null,
      createdAt: this.deps.now(),
    };
    this.deps.passkeys.add(record);
    this.auditUser(principal.username, 'auth.passkey.register', 'success', request.source, {
      passkey: record.id,
      synced: record.backedUp,
      ...(record.staffDeviceId ? { staffDevice: record.staffDeviceId } : {}),
    });
    return passkeyView({ ...record, lastUsedAt: null, flaggedAt: null, revokedAt: null, revokeReason: null });
  }

  /** Options for a sign-in with any passkey of this hub (the authenticator offers its own). */
  async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.rpID,
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'required',
    });
    this.issue(options.challenge, 'sign_in', null, null);
    return options;
  }

  /** A passkey sign-in; the new session counts as stepped up now (user verification). */
  async signIn(
    response: AuthenticationResponseJSON,
    request: CeremonyRequest,
  ): Promise<IssuedSession & { username: string }> {
    const passkey = await this.assert(response, 'sign_in', null, request);
    const user = this.deps.users.get(passkey.username);
    if (!user || user.disabledAt !== null) {
      this.auditUser(passkey.username, 'auth.passkey.sign_in', 'denied', request.source, {
        code: 'INVALID_CREDENTIALS',
        cause: 'disabled',
      });
      throw new VitalGateError('INVALID_CREDENTIALS', 'this account cannot sign in');
    }
    const session = this.deps.sessions.create(user.username, request.source, { steppedUp: true });
    this.auditUser(user.username, 'auth.passkey.sign_in', 'success', request.source, {
      passkey: passkey.id,
      sessionExpiresAt: session.expiresAt,
    });
    return { ...session, username: user.username };
  }

  async stepUpOptions(principal: Principal): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const mine = this.deps.passkeys.activeOf(principal.username);
    if (mine.length === 0) {
      throw new VitalGateError('PASSKEY_NOT_FOUND', 'this account has no passkey; use an authenticator code');
    }
    const options = await generateAuthenticationOptions({
      rpID: this.rpID,
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'required',
      allowCredentials: mine.map((p) => ({ id: p.credentialId, transports: p.transports })),
    });
    this.issue(options.challenge, 'step_up', principal.username, principal.sessionHash);
    return options;
  }

  /** A step-up with one of the session owner's passkeys; answers the step-up time. */
  async stepUp(
    principal: Principal,
    response: AuthenticationResponseJSON,
    request: CeremonyRequest,
  ): Promise<number> {
    const passkey = await this.assert(response, 'step_up', principal, request);
    return this.deps.sessions.markSteppedUp(principal.sessionHash, 'passkey', request.source, passkey.id);
  }

  rename(principal: Principal, id: string, name: string): PasskeyView {
    const passkey = this.own(principal, id);
    this.deps.passkeys.rename(passkey.id, name);
    this.auditUser(principal.username, 'auth.passkey.rename', 'success', undefined, { passkey: id });
    return passkeyView({ ...passkey, name });
  }

  remove(principal: Principal, id: string, source: string | undefined): void {
    const passkey = this.own(principal, id);
    this.deps.passkeys.revoke(passkey.id, 'removed_by_user', this.deps.now());
    this.auditUser(principal.username, 'auth.passkey.remove', 'success', source, { passkey: id });
  }

  private own(principal: Principal, id: string): PasskeyRecord {
    const passkey = this.deps.passkeys.get(id);
    if (!passkey || passkey.username !== principal.username || passkey.revokedAt !== null) {
      throw new VitalGateError('PASSKEY_NOT_FOUND', 'no such passkey');
    }
    return passkey;
  }

  private issue(
    challenge: string,
    purpose: WebAuthnPurpose,
    username: string | null,
    session: string | null,
  ) {
    const at = this.deps.now();
    // Expired challenges go as new ones come: the table holds at most a few minutes of them.
    this.deps.challenges.prune(at - CHALLENGE_TTL_MS);
    this.deps.challenges.add({
      challengeHash: sha256(challenge),
      purpose,
      username,
      sessionHash: session,
      createdAt: at,
      expiresAt: at + CHALLENGE_TTL_MS,
    });
  }

  private take(challenge: string, purpose: WebAuthnPurpose, session: string | null): boolean {
    return this.deps.challenges.take(sha256(challenge), purpose, this.deps.now(), session) !== undefined;
  }

  /**
   * Verifies an assertion: a live challenge of this purpose, a known usable passkey (of the
   * principal, for a step-up), origin, RP id, user verification, signature, and a counter that
   * moved forward. Each refusal is audited; a counter that went backwards flags the passkey.
   */
  private async assert(
    response: AuthenticationResponseJSON,
    purpose: 'sign_in' | 'step_up',
    principal: Principal | null,
    request: CeremonyRequest,
  ): Promise<PasskeyRecord> {
    const action = purpose === 'sign_in' ? 'auth.passkey.sign_in' : 'auth.step_up';
    const passkey =
      typeof response.id === 'string' ? this.deps.passkeys.byCredentialId(response.id) : undefined;
    const actor = principal?.username ?? passkey?.username;
    const refuse = (code: string, err: VitalGateError = invalid(), details: object = {}): never => {
      this.deps.audit.append({
        actor: actor ? `user:${actor}` : 'anonymous',
        action,
        target: actor ? `user:${actor}` : undefined,
        outcome: 'denied',
        source: request.source,
        details: { code, method: 'passkey', ...(passkey ? { passkey: passkey.id } : {}), ...details },
      });
      throw err;
    };
    const challenge = signedChallenge(response.response?.clientDataJSON ?? '');
    if (!this.take(challenge, purpose, principal?.sessionHash ?? null)) {
      refuse('CHALLENGE_INVALID', invalid('the passkey challenge is invalid or expired; try again'));
    }
    if (!passkey || passkey.revokedAt !== null || (principal && passkey.username !== principal.username)) {
      refuse('PASSKEY_UNKNOWN');
    }
    const known = passkey!;
    if (known.flaggedAt !== null) {
      refuse(
        'PASSKEY_BLOCKED',
        new VitalGateError(
          'PASSKEY_BLOCKED',
          'this passkey is blocked; sign in another way and register a new one',
        ),
      );
    }
    let newCounter = 0;
    try {
      // The stored counter is checked below, so a regression is told apart from a bad signature.
      const verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origins(request.port),
        expectedRPID: this.rpID,
        credential: {
          id: known.credentialId,
          publicKey: new Uint8Array(known.publicKey),
          counter: 0,
          transports: known.transports,
        },
        requireUserVerification: true,
      });
      if (!verified.verified || !verified.authenticationInfo.userVerified) refuse('PASSKEY_INVALID');
      newCounter = verified.authenticationInfo.newCounter;
    } catch (err) {
      if (err instanceof VitalGateError) throw err;
      refuse('PASSKEY_INVALID');
    }
    if ((newCounter > 0 || known.signCount > 0) && newCounter <= known.signCount) {
      this.deps.passkeys.flag(known.id, this.deps.now());
      this.deps.securityEvents.add({
        kind: 'passkey_counter_regressed',
        severity: 'high',
        username: known.username,
        source: request.source ?? null,
        details: { passkey: known.id, stored: known.signCount, presented: newCounter },
      });
      refuse(
        'PASSKEY_COUNTER_REGRESSED',
        new VitalGateError(
          'PASSKEY_COUNTER_REGRESSED',
          'this passkey looks copied (its signature counter went backwards); it is blocked now',
        ),
        { stored: known.signCount, presented: newCounter },
      );
    }
    if (!this.deps.passkeys.recordUse(known.id, newCounter, this.deps.now())) refuse('PASSKEY_INVALID');
    return known;
  }

  private auditUser(
    username: string,
    action: string,
    outcome: 'success' | 'denied',
    source: string | undefined,
    details: Record<string, unknown>,
  ): void {
    auditOwnAccount(this.deps.audit, username, action, outcome, source, details);
  }
}
