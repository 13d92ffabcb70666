// The FHIR R4 facade at /fhir/R4: thin routes over fhir/ (mapping, search parsing, repository,
// $everything). Routes are declared `public` to the API's session hook because this scope
// authenticates its own callers (access/fhir-callers.ts): staff sessions through the PHI gate, and
// SMART system clients by their scopes. Every answer is FHIR JSON; every error an OperationOutcome.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VitalGateError } from '../../core/errors.js';
import { operationOutcome, searchsetBundle, searchsetBundleJson } from '../../fhir/bundle.js';
import { observationEntryWriter } from '../../fhir/observations.js';
import { capabilityStatement } from '../../fhir/capability.js';
import { patientEverything } from '../../fhir/everything.js';
import { patientIdFromFhir } from '../../fhir/ids.js';
import { StoreFhirRepository, type FhirRepository, type Owned } from '../../fhir/repository.js';
import {
  communicationSearch,
  deviceSearch,
  everythingParams,
  observationSearch,
  patientSearch,
  type QueryValues,
} from '../../fhir/search.js';
import { auditStepUpRefusal, requireStepUpForExport } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import { toErrorResponse } from '../http-errors.js';
import { describeRequestError } from '../request-errors.js';
import type { ApiApp } from '../server.js';
import { callerOf, type FhirCaller } from '../access/fhir-callers.js';
import { registerFhirPushRoutes } from './fhir-push.js';
import { registerSmartRoutes, smartConfiguration, smartTokenUrl } from './smart.js';

export const FHIR_PREFIX = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const tags = ['fhir'];
const access = { access: 'public' as const };

declare module 'fastify' {
  interface FastifyRequest {
    fhirCaller?: FhirCaller;
  }
}

function baseUrl(request: FastifyRequest): string {
  return `https://${request.headers.host ?? 'localhost'}${FHIR_PREFIX}`;
}

function send(reply: FastifyReply, status: number, resource: unknown) {
  return reply.status(status).type(FHIR_JSON).send(JSON.stringify(resource));
}

function notFound(what: string): never {
  throw new VitalGateError('NOT_FOUND', `no such ${what}`);
}

/** The same search one page on: every parameter kept, `pinned` ones (range, position) set. */
function nextUrl(request: FastifyRequest, pinned: Record<string, string[]>): string {
  const url = new URL(request.url, `https://${request.headers.host ?? 'localhost'}`);
  for (const [name, list] of Object.entries(pinned)) {
    url.searchParams.delete(name);
    for (const v of list) url.searchParams.append(name, v);
  }
  return url.href;
}

/** A searchset page: `next` (the same search at `nextOffset`, or where `pinned` says) when more remain. */
function sendSearch(
  request: FastifyRequest,
  reply: FastifyReply,
  page: {
    resources: readonly Record<string, unknown>[];
    total: number;
    nextOffset?: number | undefined;
    more?: boolean;
  },
  pinned: Record<string, string[]> = {},
) {
  const base = baseUrl(request);
  return send(
    reply,
    200,
    searchsetBundle(base, page.resources, {
      total: page.total,
      selfUrl: new URL(request.url, base).href,
      nextUrl:
        page.nextOffset !== undefined
          ? nextUrl(request, { ...pinned, _offset: [String(page.nextOffset)] })
          : page.more
            ? nextUrl(request, pinned)
            : undefined,
    }),
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export async function registerFhirRoutes(app: ApiApp, ctx: ApiContext): Promise<void> {
  const repository: FhirRepository = new StoreFhirRepository({
    patients: ctx.store.patients,
    demographics: ctx.patients,
    devices: ctx.store.devices,
    bindings: ctx.store.gatewayBindings,
    readings: ctx.telemetry,
    filed: ctx.messaging.filing,
    documents: ctx.rpm.filing,
  });
  const tokens = await registerSmartRoutes(app, ctx);
  registerFhirPushRoutes(app, ctx);
  await app.register(
    async (scope) => {
      const fhir = scope as unknown as ApiApp;
      fhir.setErrorHandler(async (error, request, reply) => {
        const { status, body } = toErrorResponse(describeRequestError(error));
        auditStepUpRefusal(ctx.store.audit, body.error, {
          username: request.principal?.username,
          route: `${request.method} ${request.routeOptions?.url ?? 'unmatched'}`,
          source: request.ip,
        });
        const retry = body.error.details?.retryAfterSeconds;
        if (typeof retry === 'number') void reply.header('retry-after', String(retry));
        return send(reply, status, operationOutcome(status, body.error.code, body.error.message));
      });
      fhir.setNotFoundHandler({ preHandler: fhir.rateLimit() }, async (_request, reply) =>
        send(
          reply,
          404,
          operationOutcome(404, 'ROUTE_NOT_FOUND', 'this server does not implement that interaction'),
        ),
      );
      const open = [`${FHIR_PREFIX}/metadata`, `${FHIR_PREFIX}/.well-known/smart-configuration`];
      fhir.addHook('onRequest', async (request) => {
        if (open.includes(request.routeOptions.url ?? '')) return;
        request.fhirCaller = callerOf(ctx, tokens, request);
      });
      fhir.get(
        '/.well-known/smart-configuration',
        {
          config: access,
          schema: { tags, summary: 'SMART configuration (as at /.well-known/smart-configuration).' },
        },
        async (request) => smartConfiguration(request),
      );
      registerReads(fhir, ctx, repository);
    },
    { prefix: FHIR_PREFIX },
  );
}

function registerReads(app: ApiApp, ctx: ApiContext, repository: FhirRepository): void {
  const caller = (request: FastifyRequest) => request.fhirCaller!;
  const query = (request: FastifyRequest) => request.query as QueryValues;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  /** An owned resource the caller may see (audited), or a refusal (audited by the caller). */
  const admitOwned = (request: FastifyRequest, owned: Owned | undefined, type: string): Owned => {
    if (!owned) notFound(type);
    const c = caller(request);
    if (owned.patientId) c.admit(owned.patientId, type);
    c.record(owned.patientId, type, { id: owned.resource.id });
    return owned;
  };

  app.get(
    '/metadata',
    {
      config: access,
      schema: { tags, summary: 'The CapabilityStatement: what this FHIR server implements.' },
    },
    async (request, reply) =>
      send(
        reply,
        200,
        capabilityStatement({
          baseUrl: baseUrl(request),
          version: '0.1.0',
          tokenUrl: smartTokenUrl(request),
          date: '2026-12-06',
        }),
      ),
  );

  app.get(
    '/Patient/:id',
    {
      config: access,
      schema: { tags, summary: 'A Patient (pseudonymous id; demographics to callers allowed PHI).' },
    },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Patient', 'r');
      const patientId = patientIdFromFhir(idOf(request)) ?? notFound('Patient');
      c.admit(patientId, 'Patient');
      const patient = repository.readPatient(patientId, c.demographics) ?? notFound('Patient');
      c.record(patientId, 'Patient', { demographics: c.demographics });
      return send(reply, 200, patient);
    },
  );

  app.get(
    '/Patient',
    { config: access, schema: { tags, summary: 'Patients the caller may read: `_id`, `_count`.' } },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Patient', 's');
      const s = patientSearch(query(request));
      const visible = c.visiblePatients(repository.patientIds());
      const wanted = s.ids ? visible.filter((id) => s.ids!.includes(id)) : visible;
      const page = wanted.slice(s.offset, s.offset + s.count);
      const resources = page.map((id) => repository.readPatient(id, c.demographics)!);
      for (const id of page) c.record(id, 'Patient', { demographics: c.demographics, search: true });
      const more = s.offset + page.length < wanted.length;
      return sendSearch(request, reply, {
        resources,
        total: wanted.length,
        nextOffset: more ? s.offset + s.count : undefined,
      });
    },
  );

  app.get(
    '/Device/:id',
    {
      config: access,
      schema: { tags, summary: 'A Device: kind, model, status and the patient it is bound to.' },
    },
    async (request, reply) => {
      caller(request).mayRead('Device', 'r');
      const owned = admitOwned(request, repository.readDevice(idOf(request)), 'Device');
      return send(reply, 200, owned.resource);
    },
  );

  app.get(
    '/Device',
    {
      config: access,
      schema: { tags, summary: 'Devices: all the caller may read, or one patient’s (`patient`).' },
    },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Device', 's');
      const s = deviceSearch(query(request));
      if (s.patientId) c.admit(s.patientId, 'Device');
      const visible = new Set(c.visiblePatients(repository.patientIds()));
      const all = repository
        .searchDevices(s.patientId)
        .filter((d) => d.patientId === null || visible.has(d.patientId));
      const page = all.slice(s.offset, s.offset + s.count);
      for (const d of page) c.record(d.patientId, 'Device', { id: d.resource.id, search: true });
      const more = s.offset + page.length < all.length;
      return sendSearch(request, reply, {
        resources: page.map((d) => d.resource),
        total: all.length,
        nextOffset: more ? s.offset + s.count : undefined,
      });
    },
  );

  app.get(
    '/Observation/:id',
    { config: access, schema: { tags, summary: 'One Observation (vital-signs profile where it applies).' } },
    async (request, reply) => {
      caller(request).mayRead('Observation', 'r');
      const owned = admitOwned(request, await repository.readObservation(idOf(request)), 'Observation');
      return send(reply, 200, owned.resource);
    },
  );

  app.get(
    '/Observation',
    {
      config: access,
      schema: {
        tags,
        summary: 'One patient’s Observations: `patient`, `code`, `date` (ge/gt/le/lt), `_sort`, `_count`.',
      },
    },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Observation', 's');
      const s = observationSearch(query(request), ctx.now());
      c.admit(s.patientId, 'Observation');
      if (request.principal) requireStepUpForExport(request.principal, ctx.now(), s.from, s.to);
      const { points, total, next } = await repository.searchReadings(s);
      c.record(s.patientId, 'Observation', {
        from: s.from,
        to: s.to,
        observations: points.length,
        total,
      });
      // The hot path of a FHIR client's walk: entries are written as JSON text directly.
      const base = baseUrl(request);
      const entryOf = observationEntryWriter(base, s.patientId);
      const entries = points.map((p) => entryOf(p)!);
      const pinned = { date: [`ge${iso(s.from)}`, `le${iso(s.to)}`], _count: [String(s.count)] };
      let nextLink: string | undefined;
      if (s.descending) {
        const more = s.offset + points.length < total && points.length === s.count;
        if (more) nextLink = nextUrl(request, { ...pinned, _offset: [String(s.offset + s.count)] });
      } else if (next) {
        nextLink = nextUrl(request, {
          ...pinned,
          _cursor: [`${next.ts}.${next.skip}.${next.total}`],
          _offset: [],
        });
      }
      const bundle = searchsetBundleJson(entries, {
        total,
        selfUrl: new URL(request.url, base).href,
        nextUrl: nextLink,
      });
      return reply.status(200).type(FHIR_JSON).send(bundle);
    },
  );

  app.get(
    '/Communication/:id',
    {
      config: access,
      schema: {
        tags,
        summary: 'One Communication a clinician filed to a patient’s record from a conversation.',
      },
    },
    async (request, reply) => {
      caller(request).mayRead('Communication', 'r');
      const owned = admitOwned(request, repository.readCommunication?.(idOf(request)), 'Communication');
      return send(reply, 200, owned.resource);
    },
  );

  app.get(
    '/Communication',
    {
      config: access,
      schema: {
        tags,
        summary: 'What clinicians filed to one patient’s record, oldest first: `patient`, `_count`.',
      },
    },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Communication', 's');
      const s = communicationSearch(query(request));
      c.admit(s.patientId, 'Communication');
      const all = repository.searchCommunications?.(s.patientId) ?? [];
      const page = all.slice(s.offset, s.offset + s.count);
      c.record(s.patientId, 'Communication', { communications: page.length, total: all.length });
      const more = s.offset + page.length < all.length;
      return sendSearch(request, reply, {
        resources: page,
        total: all.length,
        nextOffset: more ? s.offset + s.count : undefined,
      });
    },
  );

  app.get(
    '/Patient/:id/$everything',
    {
      config: access,
      schema: {
        tags,
        summary: 'One patient’s Patient, Devices and Observations between `start` and `end`, paged.',
      },
    },
    async (request, reply) => {
      const c = caller(request);
      c.mayRead('Patient', 'r');
      const patientId = patientIdFromFhir(idOf(request)) ?? notFound('Patient');
      const p = everythingParams(query(request), ctx.now());
      c.admit(patientId, 'everything');
      if (request.principal) requireStepUpForExport(request.principal, ctx.now(), p.from, p.to);
      const page =
        (await patientEverything(repository, patientId, c.demographics, p, {
          devices: c.allows('Device'),
          observations: c.allows('Observation'),
          communications: c.allows('Communication'),
          documents: c.allows('DocumentReference'),
        })) ?? notFound('Patient');
      c.record(patientId, 'everything', { from: p.from, to: p.to, resources: page.resources.length });
      const pinned = { start: [iso(p.from)], end: [iso(p.to)], _count: [String(p.count)] };
      const nextOffset = page.more ? p.offset + p.count : undefined;
      return sendSearch(request, reply, { resources: page.resources, total: page.total, nextOffset }, pinned);
    },
  );
}
