// Alert thresholds: a patient's effective rule parameters, read and set by a clinician of the
// patient or an admin, and the program-wide defaults, set by an admin. The rules and bounds are
// the care layer's; this file only maps HTTP to it.
import { z } from 'zod';
import { AlertThresholds, type RuleSettings } from '../../care/alert-thresholds.js';
import type { Principal } from '../auth/sessions.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientParams } from '../schemas.js';

const changes = z
  .object({
    rules: z
      .record(
        z.string().max(64),
        z
          .record(z.string().max(64), z.number().finite().nullable())
          .refine((r) => Object.keys(r).length <= 16),
      )
      .refine((r) => Object.keys(r).length <= 16, 'at most 16 rules per change'),
  })
  .strict();

const settingsView = (rules: RuleSettings[]) => ({ rules });

export function registerAlertSettingRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['alerts'];
  const thresholds = new AlertThresholds({
    store: ctx.store,
    now: ctx.now,
    ...(ctx.deps.alertSettingsChanged ? { onChange: ctx.deps.alertSettingsChanged } : {}),
  });
  /** A clinician needs the patient (assignment or break-glass); an admin manages every patient. */
  const admit = (request: { principal?: Principal | undefined; ip: string }, id: string, what: string) => {
    const p = request.principal!;
    if (p.role !== 'clinician') return;
    const basis = ctx.guard.authorize(p, id, what, request.ip);
    if (what === 'alert_settings') ctx.guard.recordRead(p, id, what, request.ip, { via: basis });
  };

  app.get(
    '/patients/:id/alert-settings',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'alert_settings' },
      schema: {
        tags,
        summary:
          'Each alert rule’s parameters in force for the patient, where each comes from (rule, program, patient) and its bounds.',
        params: patientParams,
      },
    },
    async (request) => {
      admit(request, request.params.id, 'alert_settings');
      return { patientId: request.params.id, ...settingsView(thresholds.forPatient(request.params.id)) };
    },
  );

  app.put(
    '/patients/:id/alert-settings',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'alert_settings_change' },
      schema: {
        tags,
        summary:
          'Sets the patient’s own rule parameters (null drops one, back to the program default). Checked against bounds on the whole rule; audited with old and new values.',
        params: patientParams,
        body: changes,
      },
    },
    async (request) => {
      const id = request.params.id;
      admit(request, id, 'alert_settings_change');
      const changed = thresholds.changePatient(id, request.body.rules, {
        actor: `user:${request.principal!.username}`,
        source: request.ip,
      });
      return { patientId: id, changed, ...settingsView(thresholds.forPatient(id)) };
    },
  );

  app.get(
    '/alert-settings/defaults',
    {
      config: { access: ['phi.read', 'patients.manage'] },
      schema: { tags, summary: 'Each alert rule’s program-wide parameters and bounds.' },
    },
    async () => settingsView(thresholds.program()),
  );

  app.put(
    '/alert-settings/defaults',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary:
          'Sets program-wide rule parameters (null drops one, back to the rule’s built-in default). Audited with old and new values.',
        body: changes,
      },
    },
    async (request) => {
      const changed = thresholds.changeProgram(request.body.rules, {
        actor: `user:${request.principal!.username}`,
        source: request.ip,
      });
      return { changed, ...settingsView(thresholds.program()) };
    },
  );
}
