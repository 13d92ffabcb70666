// TOTP (RFC 6238, 30 s steps, 6 digits, SHA-1: what authenticator apps implement) with otplib.
// A code is accepted one step either side of now, and `step` tells which step it was, so the
// caller can refuse a step that was used already.
import otplib from 'otplib';

const STEP_SECONDS = 30;

export class TotpVerifier {
  constructor(
    private readonly issuer: string,
    private readonly now: () => number,
  ) {}

  generateSecret(): string {
    return otplib.authenticator.generateSecret(20);
  }

  otpauthUri(username: string, secret: string): string {
    return otplib.authenticator.keyuri(username, this.issuer, secret);
  }

  /** The 30-second step a valid code belongs to, or undefined. */
  verify(code: string, secret: string): number | undefined {
    if (!/^\d{6}$/.test(code)) return undefined;
    const epoch = this.now();
    const delta = otplib.authenticator.clone({ epoch, window: 1 }).checkDelta(code, secret);
    if (delta === null) return undefined;
    return Math.floor(epoch / 1000 / STEP_SECONDS) + delta;
  }

  /** The current code (tests and the CLI's self-check). */
  generate(secret: string, at = this.now()): string {
    return otplib.authenticator.clone({ epoch: at }).generate(secret);
  }
}
