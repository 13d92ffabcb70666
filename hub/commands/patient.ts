import { PatientErasure } from '../../core/patient-erasure.js';
import { PatientRegistry } from '../../core/patient-registry.js';
import { VitalGateError } from '../../core/errors.js';
import { cliActor, optionalString, requirePositional, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { askRunningHub, hubIsRunning } from '../running-hub.js';

export const patientAdd: CommandSpec = {
  name: 'patient add',
  summary: 'Register a patient. Demographics are stored encrypted under the patient’s own key.',
  usage: 'patient add --name NAME --birth-date YYYY-MM-DD [--mrn MRN] [--json]',
  options: { name: { type: 'string' }, 'birth-date': { type: 'string' }, mrn: { type: 'string' } },
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const registry = new PatientRegistry(ctx.store.patients, ctx.keyring, ctx.store.audit);
      const { id } = registry.add(
        {
          name: requireString(args, 'name'),
          birthDate: requireString(args, 'birth-date'),
          mrn: optionalString(args, 'mrn'),
        },
        cliActor(),
      );
      if (args.values.json) io.json({ id });
      else io.out(`patient ${id} registered`);
    } finally {
      ctx.close();
    }
  },
};

export const patientAssign: CommandSpec = {
  name: 'patient assign',
  summary: 'Assign a patient to a clinician, who may then read that patient’s data.',
  usage: 'patient assign PATIENT_ID --user USERNAME [--json]',
  options: { user: { type: 'string' } },
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const patientId = requirePositional(args, 0, 'PATIENT_ID');
      const username = requireString(args, 'user');
      ctx.store.patients.require(patientId);
      const user = ctx.store.users.get(username);
      if (!user) throw new VitalGateError('USER_NOT_FOUND', `no user ${username}`);
      if (user.role !== 'clinician') {
        throw new VitalGateError(
          'ROLE_NOT_ALLOWED',
          `only clinicians are assigned patients (${username} is ${user.role})`,
        );
      }
      ctx.store.patients.assign(patientId, username);
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'patient.assign',
        target: `patient:${patientId}`,
        outcome: 'success',
        details: { username },
      });
      if (args.values.json) io.json({ patientId, username });
      else io.out(`patient ${patientId} assigned to ${username}`);
    } finally {
      ctx.close();
    }
  },
};

export const patientErase: CommandSpec = {
  name: 'patient erase',
  summary:
    'Erase a patient for good: the patient’s data key is destroyed, so every stored reading, rollup, dead letter and the demographics become unreadable.',
  usage: 'patient erase PATIENT_ID --reason TEXT --confirm PATIENT_ID [--json]',
  options: { reason: { type: 'string' }, confirm: { type: 'string' } },
  details: [
    'It cannot be undone: --confirm repeats the patient id. The patient’s devices are unbound (their',
    'later readings are kept under the quarantine key until bound again) and their live sessions end.',
    'With a hub running, the hub carries it out (so it drops the key from memory too); with none,',
    'the store is changed directly. Audited, with the reason.',
  ],
  async run(args, io) {
    const patientId = requirePositional(args, 0, 'PATIENT_ID');
    const reason = requireString(args, 'reason');
    const confirm = requireString(args, 'confirm');
    const config = readConfig(args, io.env);
    const ctx = openContext(config);
    try {
      const request = { patientId, confirm, reason };
      const result = hubIsRunning(config)
        ? await askRunningHub(
            config,
            ctx.store,
            { kind: 'patient.erase', target: patientId, params: { reason, confirm }, actor: cliActor() },
            { whenStopped: 'it stopped meanwhile; run the command again', maxWaitMs: 30_000 },
          )
        : new PatientErasure(ctx.store, ctx.keyring).erase(request, cliActor(), 'cli');
      if (args.values.json) io.json(result);
      else {
        const devices = Array.isArray(result.unboundDevices) ? result.unboundDevices : [];
        io.out(
          `patient ${patientId} erased${devices.length ? `; unbound ${devices.length} device(s): ${devices.join(', ')}` : ''}`,
        );
      }
    } finally {
      ctx.close();
    }
  },
};
