// The managed InfluxDB keeps running: the hub restarts it when it dies (hub/influx-supervisor.ts),
// and each restart is an `influxdb_restarted` security event. One restart a day is a warning;
// repeated restarts mean something kills it (memory, disk, a corrupt shard) and fail the check.
import { INFLUXDB_RESTARTED } from '../influx-supervisor.js';
import { fail, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
/** Restarts within a day from which the check fails. */
export const REPEATED_RESTARTS = 3;

export const influxRestarts: DeploymentCheck = {
  id: 'VG-DATA-008',
  title: 'The managed InfluxDB is not restarting repeatedly',
  severity: 'high',
  verifies: `The hub’s managed influxd has not died and been restarted ${REPEATED_RESTARTS} or more times in the last 24 hours (one restart warns).`,
  how: `Counts the ${INFLUXDB_RESTARTED} security events of the last 24 hours (the hub raises one each time it starts a dead influxd again).`,
  references: {
    owasp: 'Incident response',
    hipaa: '164.312(c)(1) Integrity',
  },
  run({ config, store, now }) {
    if (config.influxUrl)
      return notApplicable('InfluxDB is external (VITALGATE_INFLUX_URL); the hub does not run it');
    const restarts = store.securityEvents.list({ kind: INFLUXDB_RESTARTED, since: now - DAY, limit: 1_000 });
    const remediation = `Read <data dir>/influxdb/influxd.log around ${restarts.length ? new Date(restarts[0]!.at).toISOString() : 'the restarts'} for why influxd ended (out of memory, disk full, a damaged shard) and fix the cause; the spool kept the readings meanwhile.`;
    if (restarts.length >= REPEATED_RESTARTS)
      return fail(
        `the managed InfluxDB was restarted ${restarts.length} times in the last 24 hours`,
        remediation,
      );
    if (restarts.length > 0)
      return warn(
        `the managed InfluxDB was restarted ${restarts.length} time(s) in the last 24 hours`,
        remediation,
      );
    return pass('no restart of the managed InfluxDB in the last 24 hours');
  },
};
