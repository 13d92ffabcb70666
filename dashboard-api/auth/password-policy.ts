// Password policy (NIST SP 800-63B style): length over composition rules, and a refusal of
// passwords known from breaches and of ones built from the account's own name or the product's.
import { VitalGateError } from '../../core/errors.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

/** The most common passwords of public breach corpora that meet the length rule, lower-cased. */
const BREACHED = new Set([
  '123456789012',
  '1234567890123',
  'qwertyuiopasdfgh',
  'qwertyuiop12',
  'qwerty123456',
  'password1234',
  'password12345',
  'password123456',
  'passwordpassword',
  'iloveyou1234',
  'administrator',
  'administrator1',
  'letmein12345',
  'welcome12345',
  'welcome123456',
  'changeme1234',
  'trustno11234',
  'football1234',
  'baseball1234',
  'starwars1234',
  'sunshine1234',
  'princess1234',
  'abc123456789',
  'a1b2c3d4e5f6',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'zaq12wsxcde3',
  'p@ssw0rd1234',
  'hospital1234',
  'nurse1234567',
  'doctor123456',
]);

/** Throws PASSWORD_TOO_WEAK with the rule that failed (the password itself is never echoed). */
export function checkPasswordPolicy(password: string, username: string): void {
  const refuse = (rule: string, message: string) => {
    throw new VitalGateError('PASSWORD_TOO_WEAK', message, { rule });
  };
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH)
    refuse('length', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH)
    refuse('length', `a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (BREACHED.has(lower) || BREACHED.has(lower.replace(/[^a-z0-9@]/g, '')))
    refuse('breached', 'this password appears in breach lists');
  if (new Set(lower).size < 5) refuse('repetitive', 'a password needs at least 5 different characters');
  if (/^(.{1,4})\1+$/.test(lower)) refuse('repetitive', 'a password cannot be a short pattern repeated');
  if (username.length >= 3 && lower.includes(username.toLowerCase()))
    refuse('contains_username', 'a password cannot contain the username');
  if (lower.includes('vitalgate')) refuse('contains_product', 'a password cannot contain the product name');
}
