// The settings a signed `config` command may change on a device, with their ranges. The hub
// refuses anything else before signing; devices check again (the simulated device has its own
// list, as firmware would).
import { VitalGateError } from '../core/errors.js';

export const DEVICE_SETTINGS: Readonly<Record<string, { min: number; max: number; meaning: string }>> = {
  statusIntervalS: { min: 10, max: 86_400, meaning: 'seconds between status messages' },
};

/** Checks the settings of a `config` command; throws COMMAND_PARAMS_INVALID naming the first bad one. */
export function validateDeviceSettings(settings: Record<string, unknown>): Record<string, number> {
  const entries = Object.entries(settings);
  if (entries.length === 0)
    throw new VitalGateError('COMMAND_PARAMS_INVALID', 'name at least one setting to change');
  for (const [key, value] of entries) {
    const setting = DEVICE_SETTINGS[key];
    if (!setting)
      throw new VitalGateError(
        'COMMAND_PARAMS_INVALID',
        `unknown device setting "${key.slice(0, 40)}" (known: ${Object.keys(DEVICE_SETTINGS).join(', ')})`,
      );
    if (typeof value !== 'number' || !Number.isInteger(value) || value < setting.min || value > setting.max)
      throw new VitalGateError(
        'COMMAND_PARAMS_INVALID',
        `${key} must be a whole number from ${setting.min} to ${setting.max}`,
      );
  }
  return settings as Record<string, number>;
}
