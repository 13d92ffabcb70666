// Patients (admin): register, assign and unassign clinicians, and erase (crypto-shredding,
// with the patient id typed to confirm and a reason). Admins see ids, assignees and devices,
// never demographics.
import { h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { confirmAction, labelled, pageHeader, select, table } from '../ui.js';

interface PatientRow {
  id: string;
  createdAt: string;
  assignees: string[];
  devices: string[];
}

export const adminPatientsPage: Page = {
  path: '/admin/patients',
  title: 'Patients',
  roles: ['admin'],
  nav: { label: 'Patients', order: 60 },
  async render(view) {
    const result = h('div', { role: 'status' });
    const list = h('div');
    const name = h('input', { name: 'name', autocomplete: 'off', required: true });
    const birth = h('input', { name: 'birthDate', type: 'date', required: true });
    const mrn = h('input', { name: 'mrn', autocomplete: 'off' });
    const status = h('div', { class: 'form-status' });
    const form = h(
      'form',
      { class: 'card' },
      h('h2', null, 'Register a patient'),
      h(
        'div',
        { class: 'filters' },
        labelled('Name', name),
        labelled('Birth date', birth),
        labelled('MRN (optional)', mrn),
      ),
      status,
      h('button', { type: 'submit', class: 'primary' }, 'Register'),
    );
    const load = async () => {
      const [patients, users] = await Promise.all([
        view.api.get<PatientRow[]>('/patients', view.signal),
        view.api.get<{ username: string; role: string; disabled: boolean }[]>('/users', view.signal),
      ]);
      const clinicians = users.filter((u) => u.role === 'clinician' && !u.disabled).map((u) => u.username);
      replace(
        list,
        table<PatientRow>(
          'Patients',
          [
            { label: 'Patient id', cell: (p) => h('code', null, p.id) },
            {
              label: 'Clinicians',
              cell: (p) =>
                h(
                  'div',
                  { class: 'actions' },
                  p.assignees.map((u) =>
                    h(
                      'button',
                      {
                        type: 'button',
                        'aria-label': `Unassign ${u} from ${p.id}`,
                        onclick: () =>
                          void view.api
                            .delete(`/patients/${p.id}/assignments/${u}`)
                            .then(load)
                            .catch((err: unknown) =>
                              replace(
                                result,
                                notice('error', err instanceof Error ? err.message : 'Failed.'),
                              ),
                            ),
                      },
                      `${u} ✕`,
                    ),
                  ),
                  assignForm(
                    p.id,
                    clinicians.filter((c) => !p.assignees.includes(c)),
                  ),
                ),
            },
            { label: 'Devices', cell: (p) => (p.devices.length ? p.devices.join(', ') : '–') },
            {
              label: 'Erase',
              cell: (p) =>
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'aria-label': `Erase ${p.id}`,
                    onclick: () =>
                      void confirmAction({
                        title: `Erase ${p.id}`,
                        text: "The patient's data key is destroyed: every reading and the demographics become unreadable for good, and the devices are unbound.",
                        confirmWord: p.id,
                        reason: true,
                        action: 'Erase for good',
                        danger: true,
                        run: (reason) => view.api.post(`/patients/${p.id}/erase`, { confirm: p.id, reason }),
                      }).then((ran) => {
                        if (ran) replace(result, notice('ok', `${p.id} was erased.`));
                        return load();
                      }),
                  },
                  'Erase…',
                ),
            },
          ],
          patients,
          (p) => ({ 'data-patient': p.id }),
        ),
      );
    };
    const assignForm = (patientId: string, candidates: string[]) => {
      if (candidates.length === 0) return null;
      const who = select(
        'username',
        candidates.map((c) => [c, c] as const),
      );
      who.setAttribute('aria-label', `Clinician to assign to ${patientId}`);
      const f = h('form', { class: 'row' }, who, h('button', { type: 'submit' }, 'Assign'));
      f.addEventListener('submit', (event) => {
        event.preventDefault();
        view.api
          .post(`/patients/${patientId}/assignments`, { username: who.value })
          .then(load)
          .catch((err: unknown) =>
            replace(result, notice('error', err instanceof Error ? err.message : 'Failed.')),
          );
      });
      return f;
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      status.replaceChildren();
      view.api
        .post<{ id: string }>('/patients', {
          name: name.value.trim(),
          birthDate: birth.value,
          ...(mrn.value.trim() ? { mrn: mrn.value.trim() } : {}),
        })
        .then((r) => {
          form.reset();
          replace(result, notice('ok', `Registered as ${r.id}.`));
          return load();
        })
        .catch((err: unknown) =>
          status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not register.')),
        );
    });
    view.root.append(pageHeader('Patients'), result, form, list);
    await load();
  },
};
