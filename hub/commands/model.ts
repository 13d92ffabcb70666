import { VitalGateError } from '../../core/errors.js';
import { cliActor, optionalString, requirePositional, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

function date(value: string | undefined, option: string): string | null {
  if (value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new VitalGateError('USAGE', `--${option} must be a date as YYYY-MM-DD`);
  }
  return value;
}

export const modelSet: CommandSpec = {
  name: 'model set',
  summary:
    'Record a device model’s security evaluation: date, MDS2 on file, end of support, approved firmware.',
  usage:
    'model set MODEL [--evaluated YYYY-MM-DD] [--mds2] [--end-of-support YYYY-MM-DD] [--min-firmware VERSION] [--json]',
  options: {
    evaluated: { type: 'string' },
    mds2: { type: 'boolean' },
    'end-of-support': { type: 'string' },
    'min-firmware': { type: 'string' },
  },
  details: ['The deployment checks VG-DEV-001..003 read these records (OWASP SMDDS purchasing controls).'],
  async run(args, io) {
    const model = requirePositional(args, 0, 'MODEL');
    if (model.length > 100) throw new VitalGateError('USAGE', 'MODEL is at most 100 characters');
    const firmware = optionalString(args, 'min-firmware');
    if (firmware !== undefined && !/^[A-Za-z0-9._+-]{1,32}$/.test(firmware)) {
      throw new VitalGateError('USAGE', '--min-firmware must be a version such as 1.4.2');
    }
    const record = {
      model,
      evaluatedAt: date(optionalString(args, 'evaluated'), 'evaluated'),
      mds2OnFile: args.values.mds2 === true,
      endOfSupport: date(optionalString(args, 'end-of-support'), 'end-of-support'),
      approvedFirmware: firmware ?? null,
    };
    const ctx = openContext(readConfig(args, io.env));
    try {
      ctx.store.deviceModels.put(record);
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'device_model.set',
        target: `model:${model}`,
        outcome: 'success',
        details: record,
      });
      if (args.values.json) io.json(record);
      else io.out(`model ${model} recorded`);
    } finally {
      ctx.close();
    }
  },
};
