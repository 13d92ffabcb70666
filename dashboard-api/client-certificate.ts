// The device behind a request's TLS client certificate, for renewal and EST simplereenroll. The
// API asks for client certificates but does not require them (browsers have none), so it checks
// them itself: TLS verified the chain against the hub CA bundle; here the certificate must also
// be signed by one of our issuing CAs in service (both during an issuing CA rotation's overlap), be inside its validity, name a device (CN), and be a device
// certificate of that device in the registry that is not revoked. Whether it is the current one
// (or still in its renewal grace) is DeviceEnrollment.renew's decision.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { DEVICE_ID_PATTERN } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { CertificateAuthority } from '../pki/authority.js';
import { normalizeSerial } from '../pki/profiles.js';

export interface PresentedDevice {
  deviceId: string;
  serial: string;
}

export class ClientCertificateGate {
  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: ControlPlane,
    private readonly now: () => number,
  ) {}

  device(request: FastifyRequest): PresentedDevice {
    const socket = request.raw.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    if (!peer || !peer.raw) {
      throw new VitalGateError('CLIENT_CERTIFICATE_REQUIRED', 'present the device certificate (mutual TLS)');
    }
    const refuse = (cause: string): never => {
      this.store.audit.append({
        actor: 'anonymous',
        action: 'pki.client_certificate',
        outcome: 'denied',
        source: request.ip,
        details: { code: 'CLIENT_CERTIFICATE_INVALID', cause },
      });
      throw new VitalGateError(
        'CLIENT_CERTIFICATE_INVALID',
        'the client certificate is not a valid device certificate',
        {
          cause,
        },
      );
    };
    if (!socket.authorized) refuse(String(socket.authorizationError ?? 'untrusted'));
    const cert = new X509Certificate(peer.raw);
    const issuers = this.authority.issuingCertificates().map((c) => new X509Certificate(c.toString('pem')));
    if (!issuers.some((issuer) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey)))
      refuse('not_issued_by_hub');
    const at = this.now();
    if (at < Date.parse(cert.validFrom) || at > Date.parse(cert.validTo)) refuse('outside_validity');
    const cn = /^CN=(.+)$/m.exec(cert.subject)?.[1];
    if (!cn || !DEVICE_ID_PATTERN.test(cn)) refuse('subject_invalid');
    const serial = normalizeSerial(cert.serialNumber);
    const record = this.store.certificates.get(serial);
    if (!record || record.purpose !== 'device' || record.deviceId !== cn) refuse('not_registered');
    if (record!.status === 'revoked') refuse('revoked');
    return { deviceId: cn!, serial };
  }
}
