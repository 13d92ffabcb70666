// Who is calling the FHIR facade, and what they may see. A staff session passes the PHI gate as
// on the rest of the API: a role that reads PHI, from an allowed network (checked once per
// request), then assignment or break-glass per patient; every read and refusal is audited by the
// gate. Staff see demographics (their role reads PHI). A SMART system client (an access token
// from /oauth2/token) reads the resource types and interactions its scopes grant, every patient,
// demographics only when registered for them; its reads and refusals are audited under
// `fhir-client:<id>`.
import type { FastifyRequest } from 'fastify';
import { VitalGateError } from '../../core/errors.js';
import { ACCESS_TOKEN_PREFIX, grants, type SmartTokenService } from '../../fhir/smart-tokens.js';
import type { ApiContext } from '../context.js';
import { presentedToken, sessionPrincipal } from '../server.js';

export type FhirResourceType = 'Patient' | 'Device' | 'Observation' | 'Communication' | 'DocumentReference';

export interface FhirCaller {
  /** Refuses (403, audited) a resource type the caller may not read (`r`) or search (`s`). */
  mayRead(type: FhirResourceType, interaction: 'r' | 's'): void;
  /** Whether the caller may search the type (for operations that include several). */
  allows(type: FhirResourceType): boolean;
  /** Whether Patients carry name, birth date and MRN. */
  readonly demographics: boolean;
  /** Of the given patients, those the caller may read, in the same order. */
  visiblePatients(patientIds: readonly string[]): string[];
  /** Refuses (403, audited) a patient the caller may not read. */
  admit(patientId: string, what: string): void;
  /** The audit entry of a read that was served (null: a resource bound to no patient). */
  record(patientId: string | null, what: string, details?: Record<string, unknown>): void;
}

export function callerOf(ctx: ApiContext, tokens: SmartTokenService, request: FastifyRequest): FhirCaller {
  const { token } = presentedToken(request);
  if (!token) throw new VitalGateError('UNAUTHENTICATED', 'a valid session or access token is required');
  if (token.startsWith(ACCESS_TOKEN_PREFIX)) return systemCaller(ctx, tokens, request, token);
  return staffCaller(ctx, request, token);
}

function systemCaller(
  ctx: ApiContext,
  tokens: SmartTokenService,
  request: FastifyRequest,
  token: string,
): FhirCaller {
  const audit = (
    outcome: 'success' | 'denied',
    target: string | undefined,
    details: Record<string, unknown>,
  ) =>
    ctx.store.audit.append({
      actor: client ? `fhir-client:${client.clientId}` : 'anonymous',
      action: outcome === 'success' ? 'phi.read' : 'fhir.access',
      target,
      outcome,
      source: request.ip,
      details,
    });
  let client: ReturnType<SmartTokenService['authenticate']> | undefined;
  try {
    client = tokens.authenticate(token);
  } catch (err) {
    audit('denied', undefined, { code: 'UNAUTHENTICATED', route: request.routeOptions.url });
    throw err;
  }
  const scopes = client.scopes;
  return {
    mayRead: (type, interaction) => {
      if (grants(scopes, type, interaction)) return;
      audit('denied', undefined, { code: 'SCOPE_NOT_GRANTED', what: `fhir.${type}`, interaction });
      throw new VitalGateError('SCOPE_NOT_GRANTED', `the access token's scopes do not cover ${type}`);
    },
    allows: (type) => grants(scopes, type, 's'),
    demographics: client.demographics,
    visiblePatients: (ids) => [...ids],
    admit: () => undefined,
    record: (patientId, what, details = {}) =>
      audit('success', patientId ? `patient:${patientId}` : undefined, { what: `fhir.${what}`, ...details }),
  };
}

function staffCaller(ctx: ApiContext, request: FastifyRequest, token: string): FhirCaller {
  const principal = sessionPrincipal(ctx, request, token);
  // Role and network, before anything is read (refusals audited and counted by the gate).
  ctx.guard.admit(principal, 'fhir', request.ip);
  const bases = new Map<string, string>();
  return {
    mayRead: () => undefined,
    allows: () => true,
    demographics: true,
    visiblePatients: (ids) => ids.filter((id) => ctx.guard.basis(principal.username, id) !== undefined),
    admit: (patientId, what) => {
      bases.set(patientId, ctx.guard.authorize(principal, patientId, `fhir.${what}`, request.ip));
    },
    record: (patientId, what, details = {}) => {
      if (patientId === null) {
        ctx.store.audit.append({
          actor: `user:${principal.username}`,
          action: 'fhir.read',
          outcome: 'success',
          source: request.ip,
          details: { what, ...details },
        });
        return;
      }
      const via = bases.get(patientId) ?? ctx.guard.basis(principal.username, patientId);
      ctx.guard.recordRead(principal, patientId, `fhir.${what}`, request.ip, { via, ...details });
    },
  };
}
