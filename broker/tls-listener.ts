// The device listener: TLS only (≥ 1.2, AEAD suites), a client certificate required and checked
// against the hub CA chain (by OpenSSL) and its CRLs (by ClientRevocation, once the handshake is
// done and before anything is read), a per-source connection rate, a global connection cap, a cap
// on the connections one source holds before their handshake is done, and a handshake deadline
// counted from the TCP connect (a peer that trickles bytes cannot stretch it), at which the
// connection is cut. Handshake failures come out as coded transport refusals.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer, type PeerCertificate, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { TLS_CIPHERS, TLS_MIN_VERSION } from '../core/tls-policy.js';
import { SourceRateLimiter } from './limits.js';
import { ClientRevocation } from './revocation.js';

export interface BrokerTlsMaterial {
  key: string;
  /** Server certificate followed by the issuing CA. */
  cert: string;
  /** CA bundle that client certificates must chain to (and whose CAs the CRLs belong to). */
  ca: string;
  /**
   * What OpenSSL takes as the end of the chain; `ca` when absent. The hub passes the issuing CA's
   * self-signed twin (pki/trust-anchor.ts), so a handshake verifies the device certificate's
   * signature only, not also the issuing CA's P-384 signature by the root; the root's CRL still
   * applies to the issuing CA through ClientRevocation, which works on `ca`.
   */
  anchors?: string | undefined;
  /** Current CRLs of the issuing and root CA, PEM (ClientRevocation checks the whole chain). */
  crl: string | string[];
}

/** The hub's TLS policy (core/tls-policy.ts), which the API listener shares. */
export { TLS_CIPHERS };

/** Why a connection ended before MQTT: each is a metric, most are audited. */
export type TransportRefusal =
  | 'NO_CLIENT_CERTIFICATE'
  | 'CERTIFICATE_REVOKED'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_NOT_YET_VALID'
  | 'CERTIFICATE_UNTRUSTED'
  | 'CERTIFICATE_INVALID'
  | 'CRL_UNAVAILABLE'
  | 'TLS_PARAMETERS_REFUSED'
  | 'NOT_TLS'
  | 'HANDSHAKE_TIMEOUT'
  | 'HANDSHAKE_ABORTED'
  | 'CONNECTION_RATE_LIMITED'
  | 'CONNECTION_LIMIT_REACHED'
  | 'PENDING_HANDSHAKES_LIMITED';

export interface TransportRefusalEvent {
  code: TransportRefusal;
  source: string;
  /** The OpenSSL verify code or Node error code behind it (no peer data). */
  cause?: string;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
]);
const CRL_PROBLEMS = new Set([
  'UNABLE_TO_GET_CRL',
  'CRL_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_GET_CRL_ISSUER',
]);
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_HTTPS_PROXY_REQUEST',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/**
 * Maps a failed handshake to a refusal code. Node verifies the client certificate after the
 * handshake and puts OpenSSL's verdict in `authorizationError`; everything else is in the error.
 */
export function classifyTlsFailure(
  err: { code?: string | undefined },
  authorizationError: string | Error | null | undefined,
): TransportRefusal {
  const verify = typeof authorizationError === 'string' ? authorizationError : authorizationError?.message;
  if (verify) {
    if (verify === 'CERT_REVOKED') return 'CERTIFICATE_REVOKED';
    if (verify === 'CERT_HAS_EXPIRED') return 'CERTIFICATE_EXPIRED';
    if (verify === 'CERT_NOT_YET_VALID') return 'CERTIFICATE_NOT_YET_VALID';
    if (UNTRUSTED.has(verify)) return 'CERTIFICATE_UNTRUSTED';
    if (CRL_PROBLEMS.has(verify)) return 'CRL_UNAVAILABLE';
    return 'CERTIFICATE_INVALID';
  }
  const code = err.code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'NO_CLIENT_CERTIFICATE';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'HANDSHAKE_TIMEOUT';
  if (NOT_TLS.has(code)) return 'NOT_TLS';
  if (code.startsWith('ERR_SSL_')) return 'TLS_PARAMETERS_REFUSED';
  return 'HANDSHAKE_ABORTED';
}

/**
 * The OpenSSL side of the context. The CRLs are deliberately not in it: OpenSSL would verify
 * both CRL signatures at every handshake; ClientRevocation checks them once per CRL instead.
 */
export function secureContextOptions(material: BrokerTlsMaterial): TlsOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.anchors ?? material.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
}

export interface DeviceTlsListenerOptions {
  tls: BrokerTlsMaterial;
  maxConnections: number;
  connectsPerSourcePerMinute: number;
  /** From the TCP connect to the end of the TLS handshake; 10 s by default. */
  handshakeTimeoutMs?: number;
  /** Connections one source may hold before their handshake is done; 16 by default. */
  pendingHandshakesPerSource?: number;
  /** The clock CRLs are checked against. */
  now?: () => number;
  /**
   * A verified mutual-TLS connection whose certificate is not revoked, ready for MQTT. `peer` is
   * its certificate as `getPeerCertificate()` gives it (each call costs 30–90 µs).
   */
  onConnection(socket: TLSSocket, peer: PeerCertificate): void;
  onRefusal(event: TransportRefusalEvent): void;
}

export class DeviceTlsListener {
  private readonly server: Server;
  private readonly sourceLimiter: SourceRateLimiter;
  /** Raw sockets whose refusal is already reported (Node's own TLS error after it is not). */
  private readonly limited = new WeakSet<Socket>();
  private readonly sockets = new Set<Socket>();
  private readonly handshakes: PendingHandshakes;
  private material: BrokerTlsMaterial;
  private revocation: ClientRevocation;

  constructor(private readonly options: DeviceTlsListenerOptions) {
    this.material = options.tls;
    this.revocation = ClientRevocation.load(this.material.ca, this.material.crl);
    this.sourceLimiter = new SourceRateLimiter(options.connectsPerSourcePerMinute);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.handshakes = new PendingHandshakes(options.pendingHandshakesPerSource ?? 64, handshakeTimeoutMs);
    this.server = createServer(
      // Node's own timer is an idle timer (each byte restarts it); PendingHandshakes' is not.
      { ...secureContextOptions(this.material), handshakeTimeout: handshakeTimeoutMs },
      (socket) => this.secured(socket),
    );
    this.server.maxConnections = options.maxConnections;
    this.server.on('connection', (socket: Socket) => {
      // A PUBACK is a few bytes that a device waits for. With Nagle's algorithm the kernel holds
      // it while an earlier segment to that device is unacknowledged, which the device's delayed
      // ACK can stretch by up to 40 ms when it has nothing else to send.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const source = socket.remoteAddress ?? 'unknown';
      if (!this.sourceLimiter.allow(source)) return this.cut(socket, 'CONNECTION_RATE_LIMITED', source);
      // At the deadline the handshake is cut, whatever the peer sent (Node's idle timer may have
      // reported it a moment before: then it is reported once).
      const admitted = this.handshakes.admit(socket, source, () =>
        this.cut(socket, 'HANDSHAKE_TIMEOUT', source),
      );
      if (!admitted) this.cut(socket, 'PENDING_HANDSHAKES_LIMITED', source);
    });
    this.server.on('drop', (data) =>
      options.onRefusal({ code: 'CONNECTION_LIMIT_REACHED', source: data?.remoteAddress ?? 'unknown' }),
    );
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      // The raw TCP socket still knows the peer address after the TLS socket was torn down.
      const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
      // Node reports a handshake timeout here and leaves the connection open: end it.
      socket.destroy();
      raw?.destroy();
      if (raw && this.limited.has(raw)) return;
      if (raw) this.limited.add(raw);
      const source = raw?.remoteAddress ?? socket.remoteAddress ?? 'unknown';
      const code = classifyTlsFailure(err, socket.authorizationError);
      options.onRefusal({ code, source, cause: String(socket.authorizationError ?? err.code ?? 'unknown') });
    });
  }

  /** Ends a connection before its handshake is done and reports why, once per connection. */
  private cut(socket: Socket, code: TransportRefusal, source: string): void {
    socket.destroy();
    if (this.limited.has(socket)) return;
    this.limited.add(socket);
    this.options.onRefusal({ code, source });
  }

  /**
   * OpenSSL accepted the chain (Node drops the connection itself when it did not). Revocation
   * is checked here, on full and resumed handshakes alike, before any MQTT byte is read.
   */
  private secured(socket: TLSSocket): void {
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    if (raw) this.handshakes.done(raw);
    const peer = socket.getPeerCertificate();
    const verdict = peer.raw
      ? this.revocation.check(peer.raw, peer.serialNumber, (this.options.now ?? Date.now)())
      : { code: 'NO_CLIENT_CERTIFICATE' as const, cause: 'NO_PEER_CERTIFICATE' };
    if (verdict) {
      socket.destroy();
      this.options.onRefusal({ ...verdict, source: socket.remoteAddress ?? 'unknown' });
      return;
    }
    socket.setKeepAlive(true, 60_000);
    this.options.onConnection(socket, peer);
  }

  listen(host: string, port: number): Promise<number> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /**
   * Swaps TLS material in place: handshakes from now on use it, live sessions are untouched.
   * When the CRL changes the session-ticket keys are rotated too, so that no device resumes a
   * TLS session that was established before its certificate was revoked.
   */
  updateTls(material: Partial<BrokerTlsMaterial>): void {
    const next = { ...this.material, ...material };
    // Both throw on material they refuse, before anything is swapped.
    const revocation =
      material.crl !== undefined || material.ca !== undefined
        ? ClientRevocation.load(next.ca, next.crl)
        : this.revocation;
    this.server.setSecureContext(secureContextOptions(next));
    this.revocation = revocation;
    this.material = next;
    if (material.crl !== undefined) this.server.setTicketKeys(randomBytes(48));
  }

  /** Connections whose TLS handshake is not done yet. */
  get pendingHandshakes(): number {
    return this.handshakes.size;
  }

  /** Ends every connection still open (handshakes, connections that never sent CONNECT). */
  closeConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops accepting; resolves once every connection has ended. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}

/**
 * Connections between the TCP connect and the end of their TLS handshake: at most `perSource` per
 * source address, each with a deadline from the connect. A connection leaves when its handshake is
 * done or it closes, whichever comes first.
 */
class PendingHandshakes {
  private readonly bySource = new Map<string, number>();
  private readonly pending = new Map<Socket, { source: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly perSource: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** False when the source already holds its share; otherwise `onTimeout` runs at the deadline. */
  admit(socket: Socket, source: string, onTimeout: () => void): boolean {
    const held = this.bySource.get(source) ?? 0;
    if (held >= this.perSource) return false;
    this.bySource.set(source, held + 1);
    const timer = setTimeout(() => {
      this.done(socket);
      onTimeout();
    }, this.timeoutMs);
    this.pending.set(socket, { source, timer });
    socket.once('close', () => this.done(socket));
    return true;
  }

  done(socket: Socket): void {
    const entry = this.pending.get(socket);
    if (!entry) return;
    this.pending.delete(socket);
    clearTimeout(entry.timer);
    const held = (this.bySource.get(entry.source) ?? 1) - 1;
    if (held > 0) this.bySource.set(entry.source, held);
    else this.bySource.delete(entry.source);
  }
}
