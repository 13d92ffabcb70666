// Decrypted telemetry of one patient: raw ranges and downsampled views, the FHIR R4 Observation
// bundle, and the live stream. All PHI: role, network and patient access are checked, and every
// read is audited with what was read.
import { z } from 'zod';
import { READING_DEFINITIONS, type ReadingType } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { FastifyRequest } from 'fastify';
import { requireStepUpForExport } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import { FHIR_TYPES, observationBundle } from '../../fhir/observations.js';
import type { TelemetryPoint } from '../ports.js';
import type { ApiApp } from '../server.js';
import { instant, limit, offset, patientParams, readingTypes, resolution } from '../schemas.js';
import { openLiveStream } from './live.js';

const MAX_RANGE_MS = 31 * 86_400_000;
const DEFAULT_RANGE_MS = 3_600_000;
export const MAX_RAW_POINTS = 200_000;

const rangeQuery = {
  type: readingTypes.optional(),
  from: instant.optional(),
  to: instant.optional(),
};

function range(
  ctx: ApiContext,
  q: { from?: number | undefined; to?: number | undefined },
): { from: number; to: number } {
  const to = q.to ?? ctx.now();
  const from = q.from ?? to - DEFAULT_RANGE_MS;
  if (from > to) throw new VitalGateError('RANGE_INVALID', '`from` must not be after `to`');
  if (to - from > MAX_RANGE_MS) throw new VitalGateError('RANGE_INVALID', 'a range spans at most 31 days');
  return { from, to };
}

function unitOf(type: ReadingType): string | null {
  const d = READING_DEFINITIONS[type];
  return 'unit' in d ? d.unit : null;
}

/** Role, network (already checked at onRequest), patient access, and erasure. */
function admitPatient(ctx: ApiContext, request: FastifyRequest, id: string, what: string) {
  const basis = ctx.guard.authorize(request.principal!, id, what, request.ip);
  const record = ctx.store.patients.get(id);
  if (!record) throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
  if (record.erasedAt !== null) {
    ctx.telemetry.forget(id);
    throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
  }
  return basis;
}

function rawSeries(points: readonly TelemetryPoint[]) {
  const byType = new Map<ReadingType, Record<string, unknown>[]>();
  for (const p of points) {
    let list = byType.get(p.type);
    if (!list) byType.set(p.type, (list = []));
    const { unit: _unit, ...values } = p.values;
    list.push({ ts: p.ts, deviceId: p.deviceId, ...values });
  }
  return [...byType.entries()].map(([type, list]) => ({ type, unit: unitOf(type), points: list }));
}

export function registerTelemetryRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['telemetry'];

  app.get(
    '/patients/:id/telemetry',
    {
      config: { access: 'phi.read', phi: 'telemetry' },
      schema: {
        tags,
        summary:
          'Decrypted readings for a time range (epoch ms or ISO 8601; the last hour by default). With `resolution` (1m, 15m, 1h …): min/mean/max buckets computed after decryption.',
        params: patientParams,
        querystring: z
          .object({ ...rangeQuery, resolution: resolution.optional(), limit: limit(MAX_RAW_POINTS, 100_000) })
          .strict(),
      },
    },
    async (request) => {
      const { id } = request.params;
      const basis = admitPatient(ctx, request, id, 'telemetry');
      const { from, to } = range(ctx, request.query);
      const types = request.query.type;
      const base = { patientId: id, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
      if (request.query.resolution) {
        const res = request.query.resolution;
        const buckets = await ctx.telemetry.downsampled(id, from, to, types, res);
        const series = [...buckets.entries()].map(([type, list]) => ({
          type,
          unit: unitOf(type),
          buckets: list,
        }));
        ctx.guard.recordRead(request.principal!, id, 'telemetry', request.ip, {
          via: basis,
          from,
          to,
          types: types ?? 'all',
          resolutionMs: res,
          buckets: series.reduce((n, s) => n + s.buckets.length, 0),
        });
        return { ...base, resolutionMs: res, series };
      }
      requireStepUpForExport(request.principal!, ctx.now(), from, to);
      const points = await ctx.telemetry.raw(id, from, to, types, request.query.limit);
      ctx.guard.recordRead(request.principal!, id, 'telemetry', request.ip, {
        via: basis,
        from,
        to,
        types: types ?? 'all',
        points: points.length,
      });
      return {
        ...base,
        resolutionMs: null,
        truncated: points.length >= request.query.limit,
        series: rawSeries(points),
      };
    },
  );

  app.get(
    '/patients/:id/observations',
    {
      config: { access: 'phi.read', phi: 'observations' },
      schema: {
        tags,
        summary:
          'FHIR R4 searchset Bundle of Observations (LOINC, UCUM, vital-signs category) for a time range. `total` counts every match; `_count` entries per page from `_offset`, with a `next` link while more remain.',
        params: patientParams,
        querystring: z
          .object({ ...rangeQuery, _count: limit(20_000, 5_000), _offset: offset(MAX_RAW_POINTS) })
          .strict(),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const basis = admitPatient(ctx, request, id, 'observations');
      const { from, to } = range(ctx, request.query);
      requireStepUpForExport(request.principal!, ctx.now(), from, to);
      const { _count: count, _offset: skip } = request.query;
      const wanted = (request.query.type ?? FHIR_TYPES).filter((t) => FHIR_TYPES.includes(t));
      const points = wanted.length
        ? (await ctx.telemetry.raw(id, from, to, wanted, skip + count)).slice(skip)
        : [];
      // A first page that is not full holds every match; otherwise the statistics count them.
      const total =
        wanted.length === 0
          ? 0
          : skip === 0 && points.length < count
            ? points.length
            : await ctx.telemetry.count(id, from, to, wanted);
      const self = new URL(request.url, `https://${request.headers.host ?? 'localhost'}`);
      let nextUrl: string | undefined;
      if (points.length === count && skip + count < total) {
        const next = new URL(self);
        // The next page is the same search: the range is pinned, so "now" does not move under it.
        next.searchParams.set('from', String(from));
        next.searchParams.set('to', String(to));
        next.searchParams.set('_count', String(count));
        next.searchParams.set('_offset', String(skip + count));
        nextUrl = next.href;
      }
      const bundle = observationBundle(id, points, { offset: skip, total, selfUrl: self.href, nextUrl });
      ctx.guard.recordRead(request.principal!, id, 'observations', request.ip, {
        via: basis,
        from,
        to,
        types: request.query.type ?? 'all',
        observations: points.length,
        total,
      });
      return reply.type('application/fhir+json; charset=utf-8').send(JSON.stringify(bundle));
    },
  );

  app.get(
    '/patients/:id/live',
    {
      config: { access: 'phi.read', phi: 'live' },
      schema: {
        tags,
        summary: 'Server-Sent Events: `reading` and `alert` events for the patient as they arrive.',
        params: patientParams,
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const basis = admitPatient(ctx, request, id, 'live');
      ctx.guard.recordRead(request.principal!, id, 'live', request.ip, { via: basis });
      openLiveStream(ctx, request, reply, id);
    },
  );
}
