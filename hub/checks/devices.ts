// Device checks from the purchasing side (OWASP SMDDS purchasing controls): firmware at or above
// the approved baseline of the model, a security evaluation record per model, and no device past
// its model's end of support.
import { fail, listIds, pass, warn, type DeploymentCheck } from './check.js';

const PURCHASING = 'Purchasing controls';

/** Compares dotted versions numerically ("1.10.0" > "1.9.3"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export const firmwareBaseline: DeploymentCheck = {
  id: 'VG-DEV-001',
  title: 'Device firmware is at or above the approved baseline',
  severity: 'high',
  verifies: "Every active device's reported firmware is at least its model's approved firmware.",
  how: 'Compares the firmware from each device’s status messages with the model record.',
  references: {
    owasp: PURCHASING,
    hipaa: '164.312(c)(1) Integrity',
    deviceDefender: 'Detect: firmware version',
  },
  run({ store }) {
    const below: string[] = [];
    for (const d of store.devices.list({ status: 'active' })) {
      const baseline = d.model ? store.deviceModels.get(d.model)?.approvedFirmware : undefined;
      if (baseline && d.firmware && compareVersions(d.firmware, baseline) < 0)
        below.push(`${d.id} (${d.firmware} < ${baseline})`);
    }
    return below.length
      ? fail(
          `firmware below the approved baseline: ${listIds(below)}`,
          'Update these devices, or quarantine them until they are updated.',
        )
      : pass('no active device reports firmware below its model baseline');
  },
};

export const modelEvaluated: DeploymentCheck = {
  id: 'VG-DEV-002',
  title: 'Every device model has a security evaluation record',
  severity: 'medium',
  verifies: 'Each model in use has an evaluation date and an MDS2 form on file.',
  how: 'Looks up the model record of every device in service (vitalgate model set).',
  references: { owasp: PURCHASING, hipaa: '164.312(a)(1) Access control' },
  run({ store }) {
    const inService = store.devices.list().filter((d) => d.status !== 'revoked' && d.status !== 'wiped');
    const models = new Set(inService.map((d) => d.model ?? '(no model)'));
    const missing = [...models].filter((m) => {
      const record = m === '(no model)' ? undefined : store.deviceModels.get(m);
      return !record?.evaluatedAt || !record.mds2OnFile;
    });
    if (models.size === 0) return pass('no devices registered yet');
    return missing.length
      ? warn(
          `models without an evaluation record or MDS2: ${listIds(missing)}`,
          'Record the evaluation: vitalgate model set MODEL --evaluated YYYY-MM-DD --mds2.',
        )
      : pass(`${models.size} model(s), all evaluated with MDS2 on file`);
  },
};

export const pastEndOfSupport: DeploymentCheck = {
  id: 'VG-DEV-003',
  title: 'No device is past its end of support',
  severity: 'high',
  verifies: "No active device belongs to a model past its vendor's end-of-support date.",
  how: 'Compares each active device’s model record with today’s date.',
  references: { owasp: PURCHASING, hipaa: '164.312(c)(1) Integrity' },
  run({ store, now }) {
    const today = new Date(now).toISOString().slice(0, 10);
    const past = store.devices
      .list({ status: 'active' })
      .filter((d) => {
        const eos = d.model ? store.deviceModels.get(d.model)?.endOfSupport : undefined;
        return eos !== undefined && eos !== null && eos < today;
      })
      .map((d) => `${d.id} (${d.model})`);
    return past.length
      ? fail(
          `devices past end of support: ${listIds(past)}`,
          'Replace these devices; they no longer get security fixes.',
        )
      : pass('no active device is past its end of support');
  },
};

export const DEVICE_CHECKS: DeploymentCheck[] = [firmwareBaseline, modelEvaluated, pastEndOfSupport];
