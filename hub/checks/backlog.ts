// Backlog checks: what should drain does. A running hub's spool empties into InfluxDB, and no
// single device keeps filling the dead-letter store.
import { join } from 'node:path';
import { SPOOL_DIR } from '../../ingest/pipeline.js';
import { oldestUnconfirmedRecord } from '../../ingest/spool-backlog.js';
import { fail, listIds, notApplicable, pass, type DeploymentCheck } from './check.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Dead letters from one device in an hour that count as piling up. */
export const DEAD_LETTERS_PER_DEVICE_HOUR = 50;

export const spoolDrains: DeploymentCheck = {
  id: 'VG-DATA-010',
  title: 'A running hub’s spool drains',
  severity: 'high',
  verifies:
    'While the hub runs, the oldest spooled reading not yet confirmed in InfluxDB is younger than VITALGATE_SPOOL_STALL_MINUTES.',
  how: 'Reads the spool’s confirmed cursor and the header of the first record after it (append time), on disk.',
  references: {
    owasp: 'Incident response',
    hipaa: '164.312(c)(1) Integrity',
    deviceDefender: 'Detect: message delivery failures',
  },
  run({ config, live, now }) {
    const head = oldestUnconfirmedRecord(join(config.dataDir, SPOOL_DIR));
    const since = head && `record ${head.lsn} spooled at ${new Date(head.appendedAt).toISOString()}`;
    if (!live)
      return notApplicable(
        `the hub is not running, so the spool cannot drain${since ? ` (oldest unconfirmed: ${since})` : ''}`,
      );
    if (!head) return pass('every spooled reading is confirmed in InfluxDB');
    const minutes = Math.floor((now - head.appendedAt) / MINUTE);
    return minutes >= config.spoolStallMinutes
      ? fail(
          `oldest unconfirmed ${since}: waiting ${minutes} min (VITALGATE_SPOOL_STALL_MINUTES=${config.spoolStallMinutes})`,
          'Check that InfluxDB is up and accepts writes (credentials, disk, retention policy) and read the hub log for writer errors; readings stay safe in the spool meanwhile.',
        )
      : pass(`oldest unconfirmed ${since}: ${minutes} min old`);
  },
};

export const deadLettersPerDevice: DeploymentCheck = {
  id: 'VG-DATA-011',
  title: 'No device piles up dead letters',
  severity: 'medium',
  verifies: `No single device had ${DEAD_LETTERS_PER_DEVICE_HOUR} or more messages rejected as invalid in the last hour.`,
  how: 'Counts dead letters per device over the last hour.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(c)(1) Integrity',
    deviceDefender: 'Detect: message validation failures per device',
  },
  run({ store, now }) {
    const counts = store.deadLetters.countByDevice(now - HOUR);
    const piling = counts.filter((c) => c.count >= DEAD_LETTERS_PER_DEVICE_HOUR);
    const total = counts.reduce((n, c) => n + c.count, 0);
    return piling.length
      ? fail(
          `dead letters in the last hour: ${listIds(piling.map((c) => `${c.deviceId} (${c.count})`))}`,
          'Look at these devices’ dead-letter reasons: faulty firmware, a wrong clock, or someone with the device’s key. Disable or quarantine the device if it is not yours.',
        )
      : pass(`${total} dead letters in the last hour, at most ${counts[0]?.count ?? 0} from one device`);
  },
};

export const BACKLOG_CHECKS: DeploymentCheck[] = [spoolDrains, deadLettersPerDevice];
