// Small building blocks the operator, auditor and admin pages share: labelled fields, a table
// in a scrollable (keyboard-reachable) region, a "shown once" box, and the confirmation dialog
// for actions that cannot be undone (typed confirmation and a reason).
import { h, notice } from './dom.js';

let seq = 0;
const nextId = (base: string) => `${base}-${++seq}`;

export function labelled(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  control.id ||= nextId('f');
  if (hint) control.setAttribute('aria-describedby', `${control.id}-hint`);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null,
    control,
  );
}

export function select(
  name: string,
  options: readonly (readonly [string, string])[],
  value = '',
): HTMLSelectElement {
  const el = h(
    'select',
    { name },
    options.map(([v, label]) => h('option', { value: v }, label)),
  );
  el.value = value;
  return el;
}

export interface Column<T> {
  label: string;
  cell(row: T): Node | string;
}

export function table<T>(
  caption: string,
  columns: readonly Column<T>[],
  rows: readonly T[],
  rowAttrs?: (row: T) => Record<string, string>,
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { scope: 'col' }, c.label)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.length === 0
          ? h('tr', null, h('td', { colspan: columns.length }, 'Nothing to show.'))
          : rows.map((r) =>
              h(
                'tr',
                rowAttrs?.(r) ?? null,
                columns.map((c) => h('td', { 'data-label': c.label }, c.cell(r))),
              ),
            ),
      ),
    ),
  );
}

/** A secret shown once (one-time password, enrolment token), with what to do with it. */
export function shownOnce(title: string, value: string, extra?: HTMLElement): HTMLElement {
  return h(
    'div',
    { class: 'card shown-once', role: 'status' },
    h('h2', null, title),
    h('p', null, h('code', { class: 'once', 'data-secret': value }, value)),
    extra ?? null,
    notice('info', 'This is shown only now. Hand it over in person; it cannot be shown again.'),
  );
}

export interface ConfirmOptions {
  title: string;
  text: string;
  /** What the user must type to confirm (a device id, a patient id). */
  confirmWord?: string;
  /** Ask for a reason (at least `minReason` characters). */
  reason?: boolean;
  action: string;
  danger?: boolean;
  run(reason: string | undefined): Promise<unknown>;
}

/** Opens a modal asking for confirmation; resolves true when the action ran. */
export function confirmAction(o: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const typed = h('input', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    const reason = h('textarea', { rows: 2, maxlength: 500 });
    const status = h('div', { class: 'form-status' });
    const go = h('button', { type: 'submit', class: o.danger ? 'danger' : 'primary' }, o.action);
    const titleId = nextId('confirm-title');
    const form = h(
      'form',
      null,
      h('h2', { id: titleId }, o.title),
      h('p', null, o.text),
      o.confirmWord ? labelled(`Type ${o.confirmWord} to confirm`, typed) : null,
      o.reason ? labelled('Reason (recorded in the audit log)', reason) : null,
      status,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
        go,
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    let done = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (o.confirmWord && typed.value.trim() !== o.confirmWord) {
        status.replaceChildren(notice('error', `Type ${o.confirmWord} exactly to confirm.`));
        return;
      }
      if (o.reason && reason.value.trim().length < 3) {
        status.replaceChildren(notice('error', 'Please give a reason.'));
        return;
      }
      go.disabled = true;
      o.run(o.reason ? reason.value.trim() : undefined)
        .then(() => {
          done = true;
          dialog.close();
        })
        .catch((err: unknown) => {
          go.disabled = false;
          status.replaceChildren(notice('error', err instanceof Error ? err.message : 'That did not work.'));
        });
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(done);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function pageHeader(title: string, ...extra: (HTMLElement | null)[]): HTMLElement {
  return h(
    'div',
    { class: 'row page-head' },
    h('h1', null, title),
    ...extra.filter((e): e is HTMLElement => e !== null),
  );
}
