// Errors are values with codes. Each edge (MQTT refusal, HTTP response, CLI line) turns a
// VitalGateError into its own shape in one place. Messages and details must never carry PHI,
// secrets or payload bytes: they are logged and shown to clients.

export class VitalGateError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'VitalGateError';
    this.code = code;
    this.details = details;
  }
}

export function isVitalGateError(err: unknown, code?: string): err is VitalGateError {
  return err instanceof VitalGateError && (code === undefined || err.code === code);
}

/** A short, PHI-free description of an unexpected error, for logs. */
export function describeError(err: unknown): string {
  if (err instanceof VitalGateError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
