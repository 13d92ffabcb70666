// Data checks: telemetry really is ciphertext in InfluxDB, retention is set, the InfluxDB link is
// protected when it leaves the host, the spool is healthy and dead letters are rare.
import { isIP } from 'node:net';
import { quoteIdentifier } from '../../core/influx.js';
import { HOUR_ROLLUP_MEASUREMENT } from '../../ingest/hour-rollup-sealing.js';
import { FIRST_ROLLUP_MEASUREMENT, ROLLUP_MEASUREMENT } from '../../ingest/rollup-sealing.js';
import { TELEMETRY_MEASUREMENT } from '../../ingest/sealing.js';
import { fail, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DATA = 'Device security controls';
const DAY = 86_400_000;
/**
 * Readings and their one-minute and hourly rollups: sealed fields (base64 AES-GCM envelopes), a
 * key version `k`, and a rollup point's `o` (a constant 1: there is a rollup point here).
 */
const SEALED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [TELEMETRY_MEASUREMENT]: ['c'],
  [ROLLUP_MEASUREMENT]: ['c', 'r'],
  [FIRST_ROLLUP_MEASUREMENT]: ['c'],
  [HOUR_ROLLUP_MEASUREMENT]: ['c', 'm'],
};
const INTEGER_FIELDS: Readonly<Record<string, readonly string[]>> = { [ROLLUP_MEASUREMENT]: ['o'] };
const SEALED = /^[A-Za-z0-9+/]{38,}={0,2}$/;

export const telemetryEncrypted: DeploymentCheck = {
  id: 'VG-DATA-001',
  title: 'Telemetry in InfluxDB is ciphertext',
  severity: 'critical',
  verifies:
    'Sampled telemetry points carry only ciphertext and pseudonyms: no numeric or plaintext value fields.',
  how: `Lists the field keys of the ${Object.keys(SEALED_FIELDS).join(', ')} (readings and rollups) measurements and samples recent points of each: each field must be a base64 AES-GCM envelope, with a key version.`,
  references: { owasp: DATA, hipaa: '164.312(a)(2)(iv) Encryption and decryption' },
  async run({ influx }) {
    if (!influx)
      return notApplicable(
        'no InfluxDB connection (the hub is not running and VITALGATE_INFLUX_URL is unset)',
      );
    const [databases] = await influx.query('SHOW DATABASES');
    if (!databases?.rows.some((r) => r.name === influx.database)) {
      return pass(`no telemetry stored yet (database ${influx.database} not created)`);
    }
    const keys = await influx.query(`SHOW FIELD KEYS ON ${quoteIdentifier(influx.database)}`);
    const plaintextFields: string[] = [];
    for (const series of keys) {
      for (const row of series.rows) {
        const field = String(row.fieldKey);
        const known =
          field === 'k' ||
          SEALED_FIELDS[series.name]?.includes(field) ||
          (INTEGER_FIELDS[series.name]?.includes(field) && row.fieldType === 'integer');
        if (!known) plaintextFields.push(`${series.name}.${field}`);
      }
    }
    const samples = await Promise.all(
      Object.entries(SEALED_FIELDS).map(async ([measurement, fields]) => {
        const sample = await influx
          .query(
            `SELECT ${[...fields, 'k'].join(', ')} FROM ${quoteIdentifier(measurement)} ORDER BY time DESC LIMIT 50`,
          )
          .catch(() => []);
        return (sample[0]?.rows ?? []).map((row) => ({ row, fields }));
      }),
    );
    const [points, rollups] = [samples[0]!, samples.slice(1).flat()];
    const rows = [...points, ...rollups];
    const notSealed = rows.filter(
      ({ row, fields }) =>
        typeof row.c !== 'string' ||
        typeof row.k !== 'number' ||
        !fields.every(
          (f) =>
            row[f] === null || row[f] === undefined || (typeof row[f] === 'string' && SEALED.test(row[f])),
        ),
    );
    if (plaintextFields.length)
      return fail(
        `fields outside the sealed layout: ${plaintextFields.join(', ')}`,
        'Find the writer of these points and remove them; only the hub may write telemetry.',
      );
    if (notSealed.length)
      return fail(
        `${notSealed.length} of ${rows.length} sampled points are not sealed`,
        'Find and remove the plaintext points.',
      );
    return pass(`${points.length} sampled points and ${rollups.length} rollups, all sealed`);
  },
};

export const retentionPolicy: DeploymentCheck = {
  id: 'VG-DATA-002',
  title: 'A retention policy limits raw telemetry',
  severity: 'medium',
  verifies:
    'The default retention policy of the telemetry database is finite and within VITALGATE_RETENTION_DAYS.',
  how: 'Reads SHOW RETENTION POLICIES on the database.',
  references: { owasp: DATA, hipaa: '164.312(c)(1) Integrity' },
  async run({ influx, config }) {
    if (!influx) return notApplicable('no InfluxDB connection');
    const [series] = await influx.query(`SHOW RETENTION POLICIES ON "${influx.database}"`).catch(() => []);
    const policy = series?.rows.find((r) => r.default === true);
    if (!policy) return warn('no default retention policy yet', 'Start the hub once; the writer creates it.');
    const duration = String(policy.duration);
    const hours = Number(/^(\d+)h/.exec(duration)?.[1] ?? 0);
    if (hours === 0)
      return fail(
        `retention policy ${String(policy.name)} keeps data forever`,
        'Set VITALGATE_RETENTION_DAYS and restart the hub.',
      );
    if (hours > config.retentionDays * 24) {
      return warn(
        `retention ${duration} is longer than the ${config.retentionDays}-day policy`,
        'Restart the hub so it aligns the policy.',
      );
    }
    return pass(`default policy ${String(policy.name)}: ${duration}`);
  },
};

export const influxLinkProtected: DeploymentCheck = {
  id: 'VG-DATA-003',
  title: 'The InfluxDB link is authenticated and encrypted off-host',
  severity: 'high',
  verifies: 'An InfluxDB that is not on loopback is reached over HTTPS with credentials.',
  how: 'Reads VITALGATE_INFLUX_URL and the InfluxDB credentials.',
  references: { owasp: 'Network security controls', hipaa: '164.312(e)(1) Transmission security' },
  run({ config }) {
    if (!config.influxUrl) return pass('managed InfluxDB on loopback');
    const url = new URL(config.influxUrl);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
    if (loopback) return pass(`InfluxDB on loopback (${url.host})`);
    const problems = [
      url.protocol !== 'https:' ? 'not HTTPS' : '',
      config.influxUsername ? '' : 'no credentials',
    ].filter(Boolean);
    return problems.length
      ? fail(
          `InfluxDB at ${url.host}: ${problems.join(', ')}`,
          'Use https:// and set VITALGATE_INFLUX_USERNAME / VITALGATE_INFLUX_PASSWORD.',
        )
      : pass(`InfluxDB at ${url.host} over HTTPS with credentials`);
  },
};

export const spoolHealthy: DeploymentCheck = {
  id: 'VG-DATA-004',
  title: 'The spool is draining',
  severity: 'high',
  verifies: 'The spool holds less than half its quota and has not filled up in the last 24 hours.',
  how: 'Reads the spool size on disk and the spool_full security events.',
  references: { owasp: 'Incident response', hipaa: '164.312(c)(1) Integrity' },
  async run({ config, store, now }) {
    const { readdirSync, statSync, existsSync } = await import('node:fs');
    const dir = `${config.dataDir}/spool`;
    const bytes = existsSync(dir)
      ? readdirSync(dir).reduce((n, f) => n + statSync(`${dir}/${f}`).size, 0)
      : 0;
    const fullEvents = store.securityEvents.list({ kind: 'spool_full', since: now - DAY });
    if (fullEvents.length)
      return fail(
        `the spool filled up ${fullEvents.length} time(s) in 24 h`,
        'Check InfluxDB and disk space; raise VITALGATE_SPOOL_QUOTA_BYTES.',
      );
    if (bytes > config.spoolQuotaBytes / 2)
      return warn(
        `spool holds ${bytes} bytes (quota ${config.spoolQuotaBytes})`,
        'Check that InfluxDB accepts writes.',
      );
    return pass(`spool holds ${bytes} bytes of ${config.spoolQuotaBytes}`);
  },
};

export const deadLetterRate: DeploymentCheck = {
  id: 'VG-DATA-005',
  title: 'Dead letters are rare',
  severity: 'medium',
  verifies: 'Fewer than 100 messages were rejected as invalid in the last 24 hours.',
  how: 'Counts dead letters of the last 24 hours.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(c)(1) Integrity',
    deviceDefender: 'Detect: message validation failures',
  },
  run({ store, now }) {
    const count = store.deadLetters.countSince(now - DAY);
    return count >= 100
      ? warn(
          `${count} dead letters in 24 h`,
          'Look at their reasons per device: faulty firmware, clock skew or an attack.',
        )
      : pass(`${count} dead letters in 24 h`);
  },
};

export const DATA_CHECKS: DeploymentCheck[] = [
  telemetryEncrypted,
  retentionPolicy,
  influxLinkProtected,
  spoolHealthy,
  deadLetterRate,
];
