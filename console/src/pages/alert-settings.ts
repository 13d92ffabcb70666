// A patient's alert thresholds (clinician of the patient, or admin): each rule's raise and clear
// thresholds, sustain and clear-hold, with the value the patient would get without their own
// (the program's, else the rule's clinical default) shown beside each field. One form per rule:
// saving sends only what changed; "Use default" drops the patient's own value. The API checks
// bounds on the whole rule and names the field it refuses.
import { ApiError } from '../api.js';
import { h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { severityBadge } from '../summary.js';
import { pageHeader } from '../ui.js';
import { ruleLabel } from '../vitals.js';

interface Bound {
  min: number;
  max: number;
  unit: string;
}

interface RuleSettings {
  rule: string;
  severity: string;
  parameters: Record<string, number>;
  sources: Record<string, 'rule' | 'program' | 'patient'>;
  bounds: Record<string, Bound>;
}

const PARAMETER_LABELS: Readonly<Record<string, string>> = {
  threshold: 'Alert at',
  clearAt: 'Clear at',
  systolic: 'Alert at systolic',
  clearSystolic: 'Clear at systolic',
  diastolic: 'Alert at diastolic',
  clearDiastolic: 'Clear at diastolic',
  radiusM: 'Alert beyond',
  clearRadiusM: 'Clear within',
  sustainS: 'Sustained for',
  clearHoldS: 'Clear held for',
};

const UNIT_LABELS: Readonly<Record<string, string>> = { s: 'seconds', 'mm[Hg]': 'mmHg', Cel: '°C' };

const unit = (u: string) => UNIT_LABELS[u] ?? u;
const fieldLabel = (p: string) => PARAMETER_LABELS[p] ?? p;

/** The refusal in words: which field, and its bounds when the API gave them. */
function refusal(err: unknown, bounds: Record<string, Bound>): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : 'Could not save.';
  const d = err.detail ?? {};
  const field = typeof d.field === 'string' ? d.field : undefined;
  const parameter = field?.split('.')[1];
  if (err.code === 'ALERT_SETTING_INVALID' && parameter) {
    const b = bounds[parameter];
    const min = typeof d.min === 'number' ? d.min : b?.min;
    const max = typeof d.max === 'number' ? d.max : b?.max;
    const u = typeof d.unit === 'string' ? d.unit : (b?.unit ?? '');
    const range =
      min !== undefined && max !== undefined
        ? ` It must be from ${min} to ${max} ${unit(u)}, and a clear level must be on the safe side of the alert level.`
        : '';
    return `${fieldLabel(parameter)} was not accepted.${range} Nothing was changed.`;
  }
  return err.message;
}

function ruleForm(
  settings: RuleSettings,
  defaults: RuleSettings | undefined,
  save: (changes: Record<string, number | null>) => Promise<void>,
): HTMLElement {
  const status = h('div', { class: 'form-status' });
  const inputs = new Map<string, HTMLInputElement>();
  const titleId = `rule-${settings.rule}`;
  const rows = Object.keys(settings.parameters).map((p) => {
    const b = settings.bounds[p];
    const id = `${settings.rule}-${p}`;
    const input = h('input', {
      id,
      name: p,
      type: 'number',
      inputmode: 'decimal',
      step: 'any',
      min: b?.min,
      max: b?.max,
      value: settings.parameters[p],
      'aria-describedby': `${id}-hint`,
    });
    inputs.set(p, input);
    const fallback = defaults?.parameters[p];
    const own = settings.sources[p] === 'patient';
    const reset = own
      ? h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-label': `Use the default for ${fieldLabel(p)}`,
            onclick: () => void save({ [p]: null }).catch((err: unknown) => show(err)),
          },
          'Use default',
        )
      : null;
    return h(
      'div',
      { class: 'field threshold' },
      h('label', { for: id }, `${fieldLabel(p)} (${unit(b?.unit ?? '')})`),
      input,
      h(
        'p',
        { class: 'hint', id: `${id}-hint` },
        own ? 'Set for this patient. ' : '',
        fallback === undefined
          ? ''
          : `${defaults?.sources[p] === 'program' ? 'Program default' : 'Clinical default'}: ${fallback}`,
        b ? ` · allowed ${b.min}–${b.max}` : '',
      ),
      reset,
    );
  });
  const show = (err: unknown) => status.replaceChildren(notice('error', refusal(err, settings.bounds)));
  const button = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = h(
    'form',
    { class: 'card rule-settings', novalidate: true, 'aria-labelledby': titleId, 'data-rule': settings.rule },
    h(
      'div',
      { class: 'row' },
      h('h2', { id: titleId }, ruleLabel(settings.rule)),
      severityBadge(settings.severity),
    ),
    h('div', { class: 'thresholds' }, rows),
    status,
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const changes: Record<string, number> = {};
    for (const [p, input] of inputs) {
      const value = input.valueAsNumber;
      if (!Number.isFinite(value)) {
        status.replaceChildren(notice('error', `${fieldLabel(p)}: enter a number.`));
        input.focus();
        return;
      }
      if (value !== settings.parameters[p]) changes[p] = value;
    }
    if (Object.keys(changes).length === 0) {
      status.replaceChildren(notice('info', 'Nothing changed.'));
      return;
    }
    button.disabled = true;
    save(changes)
      .catch((err: unknown) => show(err))
      .finally(() => (button.disabled = false));
  });
  return form;
}

export const alertSettingsPage: Page = {
  path: '/patients/:id/alert-settings',
  title: 'Alert thresholds',
  roles: ['clinician', 'admin'],
  async render(view) {
    const id = view.params.id!;
    const base = `/patients/${encodeURIComponent(id)}/alert-settings`;
    const done = h('div', { role: 'status' });
    const list = h('div', { class: 'rules' });
    view.root.append(
      pageHeader(
        'Alert thresholds',
        view.session?.role === 'clinician'
          ? h('a', { href: `#/patients/${encodeURIComponent(id)}` }, 'Back to the patient')
          : null,
      ),
      h(
        'p',
        { class: 'meta' },
        'When this patient’s readings raise an alert and when it clears. Each change is recorded with the old and new value and applies to the next reading.',
      ),
      done,
      list,
    );
    const [current, defaults] = await Promise.all([
      view.api.get<{ rules: RuleSettings[] }>(base, view.signal),
      view.api.get<{ rules: RuleSettings[] }>('/alert-settings/defaults', view.signal),
    ]);
    const draw = (rules: RuleSettings[]) =>
      replace(
        list,
        rules.map((r) =>
          ruleForm(
            r,
            defaults.rules.find((d) => d.rule === r.rule),
            async (changes) => {
              const answer = await view.api.put<{
                rules: RuleSettings[];
                changed: { field: string; old: number; new: number }[];
              }>(base, { rules: { [r.rule]: changes } });
              replace(
                done,
                notice(
                  'ok',
                  answer.changed.length === 0
                    ? `${ruleLabel(r.rule)}: nothing changed.`
                    : `${ruleLabel(r.rule)} saved: ${answer.changed
                        .map((c) => `${fieldLabel(c.field.split('.')[1] ?? c.field)} ${c.old} → ${c.new}`)
                        .join(', ')}.`,
                ),
              );
              draw(answer.rules);
              list.querySelector<HTMLElement>(`[data-rule="${r.rule}"] h2`)?.focus();
            },
          ),
        ),
      );
    draw(current.rules);
  },
};
