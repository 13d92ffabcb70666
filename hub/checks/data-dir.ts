// The data dir belongs to one hub: the running hub holds its lock (hub/data-dir-lock.ts), so a
// second `vitalgate start` cannot stop its managed InfluxDB, share its spool or remove hub.json.
import { probeDataDirLock } from '../data-dir-lock.js';
import { fail, notApplicable, pass, type DeploymentCheck } from './check.js';

export const dataDirLocked: DeploymentCheck = {
  id: 'VG-DATA-007',
  title: 'The running hub holds the data dir lock',
  severity: 'high',
  verifies:
    'While a hub runs, the data dir is locked (hub.lock), and by that hub: a second hub on the same data dir cannot start.',
  how: 'Tries a shared lock on <data dir>/hub.lock (it fails while a hub holds the exclusive one) and compares the pid in hub.pid with the running hub’s.',
  references: { owasp: 'Device security controls', hipaa: '164.312(c)(1) Integrity' },
  run({ config, live }) {
    if (!live?.pid) return notApplicable('the hub is not running');
    const lock = probeDataDirLock(config.dataDir);
    const remediation =
      'Stop every hub on this data dir and start one with this version of vitalgate; never run two hubs on one data dir.';
    if (!lock.locked)
      return fail(
        `the hub (pid ${live.pid}) runs, but nothing holds the lock on ${config.dataDir}`,
        remediation,
      );
    if (lock.pid !== live.pid)
      return fail(
        `the lock on ${config.dataDir} is held by pid ${lock.pid ?? 'unknown'}, not by the running hub (pid ${live.pid})`,
        remediation,
      );
    return pass(`the running hub (pid ${live.pid}) holds the lock on ${config.dataDir}`);
  },
};
