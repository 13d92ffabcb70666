// Connections that never finish their TLS handshake cost nothing to open and hold a place under
// the connection cap: the listener cuts them at a deadline and caps how many one source holds
// (broker/tls-listener.ts). This check reads both limits and the refusals they caused.
import { fail, listIds, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
/** So many sources at their share must not fill the connection cap. */
const SOURCES_TO_FILL_CAP = 10;
const MAX_TIMEOUT_SECONDS = 30;
/** Refusals of one source in a day from which it is named as holding handshakes open. */
const ABUSE_REFUSALS = 20;
const CODES = new Set(['HANDSHAKE_TIMEOUT', 'PENDING_HANDSHAKES_LIMITED']);

export const handshakesBounded: DeploymentCheck = {
  id: 'VG-NET-009',
  title: 'Unfinished TLS handshakes are cut and capped per source',
  severity: 'high',
  verifies: `A handshake deadline of at most ${MAX_TIMEOUT_SECONDS} s, a per-source cap on unfinished handshakes that ${SOURCES_TO_FILL_CAP} sources cannot fill the connection cap with, and no source that kept handshakes open in the last 24 hours.`,
  how: 'Reads VITALGATE_TLS_HANDSHAKE_TIMEOUT_SECONDS, VITALGATE_PENDING_HANDSHAKES_PER_SOURCE and VITALGATE_MAX_CONNECTIONS, and counts the HANDSHAKE_TIMEOUT and PENDING_HANDSHAKES_LIMITED refusals per source.',
  references: {
    owasp: 'Network security controls',
    hipaa: '164.312(a)(1) Access control',
    deviceDefender: 'Detect: connection attempts behavior',
  },
  run({ config, store, now }) {
    const perSource = config.pendingHandshakesPerSource;
    if (perSource * SOURCES_TO_FILL_CAP > config.maxConnections)
      return fail(
        `${SOURCES_TO_FILL_CAP} sources with ${perSource} unfinished handshakes each fill the cap of ${config.maxConnections} connections`,
        `Lower VITALGATE_PENDING_HANDSHAKES_PER_SOURCE to ${Math.max(1, Math.floor(config.maxConnections / SOURCES_TO_FILL_CAP))} or less, or raise VITALGATE_MAX_CONNECTIONS.`,
      );
    if (config.tlsHandshakeTimeoutSeconds > MAX_TIMEOUT_SECONDS)
      return warn(
        `handshake deadline ${config.tlsHandshakeTimeoutSeconds} s`,
        `Set VITALGATE_TLS_HANDSHAKE_TIMEOUT_SECONDS to ${MAX_TIMEOUT_SECONDS} or less (10 by default).`,
      );
    const bySource = new Map<string, number>();
    for (const event of store.securityEvents.list({
      kind: 'connection_refused',
      since: now - DAY,
      limit: 1000,
    })) {
      if (!CODES.has(String(event.details?.code)) || !event.source) continue;
      bySource.set(event.source, (bySource.get(event.source) ?? 0) + 1);
    }
    const abusers = [...bySource].filter(([, n]) => n >= ABUSE_REFUSALS).map(([s, n]) => `${s} (${n})`);
    if (abusers.length)
      return warn(
        `sources that kept TLS handshakes open in the last 24 hours: ${listIds(abusers)}`,
        'Block these addresses at the firewall if they are not devices of yours; a device among them has a broken TLS stack.',
      );
    return pass(
      `handshakes cut after ${config.tlsHandshakeTimeoutSeconds} s, at most ${perSource} unfinished per source (cap ${config.maxConnections})`,
    );
  },
};
