// Telemetry envelope, status and command-ack schemas (SPEC §4), with zod. Strict objects:
// unknown fields are refused. Units and ranges are checked per reading type in validation.ts,
// so each failure gets its own reason code.
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const epochMs = z.number().int().min(0).max(8_640_000_000_000);

export const envelopeShell = z
  .object({
    v: z.literal(1),
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    ts: epochMs,
    readings: z.array(z.record(z.string(), z.unknown())).min(1),
  })
  .strict();

export const scalarReading = z
  .object({ type: z.string(), value: finite, unit: z.string(), ts: epochMs.optional() })
  .strict();

export const bloodPressureReading = z
  .object({
    type: z.literal('blood_pressure'),
    systolic: finite,
    diastolic: finite,
    unit: z.string(),
    ts: epochMs.optional(),
  })
  .strict();

export const ecgReading = z
  .object({
    type: z.literal('ecg'),
    sampleRateHz: finite,
    samples: z.array(finite).min(1),
    unit: z.string(),
    ts: epochMs.optional(),
  })
  .strict();

export const locationReading = z
  .object({
    type: z.literal('location'),
    lat: finite.min(-90).max(90),
    lon: finite.min(-180).max(180),
    accuracyM: finite.min(0).max(100_000).optional(),
    ts: epochMs.optional(),
  })
  .strict();

export type ScalarReading = z.infer<typeof scalarReading>;
export type BloodPressureReading = z.infer<typeof bloodPressureReading>;
export type EcgReading = z.infer<typeof ecgReading>;
export type LocationReading = z.infer<typeof locationReading>;
export type Reading = ScalarReading | BloodPressureReading | EcgReading | LocationReading;

export interface TelemetryEnvelope {
  v: 1;
  seq: number;
  ts: number;
  readings: Reading[];
}

export const statusMessage = z
  .object({
    v: z.literal(1),
    firmware: z.string().regex(/^[A-Za-z0-9._+-]{1,32}$/),
    battery: finite.min(0).max(1).optional(),
    uptimeS: z.number().int().min(0).optional(),
  })
  .strict();

export const commandAck = z
  .object({
    v: z.literal(1),
    id: z.string().min(1).max(128),
    status: z.enum(['done', 'rejected']),
    detail: z.string().max(500).optional(),
  })
  .strict();
