// The step-up dialog: when the API answers STEP_UP_REQUIRED (break-glass, a device wipe, an
// account change, a long export…), any page gets this modal instead of an error. The user
// confirms with a passkey or a fresh authenticator code; the API client then retries the action
// once. Cancel leaves everything as it was.
import type { ApiClient, ApiError } from './api.js';
import { h, notice } from './dom.js';
import { passkeysSupported, stepUpWithPasskey } from './passkey-ceremony.js';
import { labelled } from './ui.js';

const WHY: Readonly<Record<string, string>> = {
  break_glass: 'Emergency access to a patient who is not assigned to you',
  patient_device_wipe: 'Wiping a patient’s device',
  patient_device_revoke: 'Revoking a patient’s device',
  phi_export: 'Reading more than a day of a patient’s raw data',
  user_change: 'Changing a staff account',
  role_change: 'Changing a role',
  patient_erase: 'Erasing a patient',
  passkey_change: 'Changing your passkeys',
  // Adaptive access (dashboard-api/access/adaptive-access.ts): why this patient data read is unusual.
  'adaptive:new_network': 'Opening patient data from a network you have not used before',
  'adaptive:unusual_hours': 'Opening patient data at an hour you do not usually work',
  'adaptive:new_network.unusual_hours': 'Opening patient data from a new network at an unusual hour',
  'adaptive:no_position': 'Opening patient data without this device’s location',
  'adaptive:outside_sites': 'Opening patient data outside the hospital sites',
};

let open: Promise<boolean> | null = null;

/** Asks for a fresh second factor; resolves true once the session stepped up. One at a time. */
export function askForStepUp(api: ApiClient, error: ApiError): Promise<boolean> {
  open ??= showDialog(api, error).finally(() => {
    open = null;
  });
  return open;
}

function showDialog(api: ApiClient, error: ApiError): Promise<boolean> {
  return new Promise((resolve) => {
    const reason = typeof error.detail?.reason === 'string' ? error.detail.reason : '';
    const status = h('div', { class: 'form-status' });
    const code = h('input', {
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6}',
      maxlength: 6,
    });
    let done = false;
    const fail = (err: unknown) =>
      status.replaceChildren(notice('error', err instanceof Error ? err.message : 'That did not work.'));
    const succeed = () => {
      done = true;
      dialog.close();
    };
    const passkey = passkeysSupported()
      ? h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: () => {
              passkey!.disabled = true;
              stepUpWithPasskey(api)
                .then(succeed, fail)
                .finally(() => (passkey!.disabled = false));
            },
          },
          'Use a passkey',
        )
      : null;
    const confirm = h('button', { type: 'submit' }, 'Confirm with code');
    const form = h(
      'form',
      null,
      h('h2', { id: 'step-up-title' }, 'Confirm it is you'),
      h(
        'p',
        null,
        `${WHY[reason] ?? 'This action'} needs a fresh confirmation. Use your passkey, or enter a new code from your authenticator app (wait for the next code if you just used one).`,
      ),
      passkey,
      labelled('6-digit code', code),
      status,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
        confirm,
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const digits = code.value.replace(/\s/g, '');
      if (!/^\d{6}$/.test(digits)) {
        fail(new Error('Enter the 6 digits your authenticator app shows.'));
        return;
      }
      confirm.disabled = true;
      api
        .post('/auth/step-up', { code: digits })
        .then(succeed, fail)
        .finally(() => (confirm.disabled = false));
    });
    const dialog = h('dialog', { 'aria-labelledby': 'step-up-title', class: 'step-up' }, form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(done);
    });
    document.body.append(dialog);
    dialog.showModal();
    (passkey ?? code).focus();
  });
}
