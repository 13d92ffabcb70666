// The backup settings: defaults, and a wrong value stops with one line naming the setting.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';

describe('backup settings', () => {
  it('default to no schedule, a daily interval, seven kept and a 30-day drill', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ backupIntervalHours: 24, backupRetention: 7, backupDrillDays: 30 });
    expect(config.backupDir).toBeUndefined();
    expect(config.backupKeyFile).toBeUndefined();
    expect(config.influxBackupAddress).toBeUndefined();
  });

  it.each([
    ['VITALGATE_BACKUP_INTERVAL_HOURS', '0'],
    ['VITALGATE_BACKUP_INTERVAL_HOURS', '1000'],
    ['VITALGATE_BACKUP_RETENTION', '0'],
    ['VITALGATE_BACKUP_DRILL_DAYS', 'monthly'],
    ['VITALGATE_INFLUX_BACKUP_ADDRESS', 'influx.example'],
  ])('%s=%s is refused, naming it', (name, value) => {
    expect(() => loadConfig({ env: { [name]: value } })).toThrow(new RegExp(`^config: ${name}: `));
  });

  it('takes fractions of hours and a host:port', () => {
    const config = loadConfig({
      env: { VITALGATE_BACKUP_INTERVAL_HOURS: '0.5', VITALGATE_INFLUX_BACKUP_ADDRESS: 'influx.example:8088' },
    });
    expect(config.backupIntervalHours).toBe(0.5);
    expect(config.influxBackupAddress).toBe('influx.example:8088');
  });
});
