// Structured logging with pino. Log events, ids and codes — never PHI, payloads or secrets.
// The redaction list is a second line of defence for fields that must never be written even
// if a caller passes them by mistake.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACTED_FIELDS = [
  'password',
  'oneTimePassword',
  'token',
  'secret',
  'totpSecret',
  'masterKey',
  'privateKey',
  'key',
  'payload',
  'name',
  'birthDate',
  'mrn',
  'value',
  'readings',
  'authorization',
  'cookie',
];

const REDACT_PATHS = [
  ...REDACTED_FIELDS,
  ...REDACTED_FIELDS.map((f) => `*.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where to write; defaults to stderr so that stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'vitalgate' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything, for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
