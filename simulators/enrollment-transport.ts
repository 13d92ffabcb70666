// How a device reaches the hub's enrollment service (SPEC §3): over HTTPS, as real devices do
// (`POST /api/v1/enroll` with the one-time token, `POST /api/v1/enroll/renew` over mutual TLS),
// or in-process through the hub's DeviceEnrollment, for tests and for a hub without its API.
// Both answer in the shape of the API's enrollment reply.
import type { CertificateAuthority } from '../pki/authority.js';
import type { DeviceEnrollment, EnrollmentResult } from '../pki/enrollment.js';
import { certificateFacts } from './device-keys.js';
import type { DeviceCredentials } from './device-state.js';
import type { HubApi } from './hub-api.js';

/** The API's enrollment reply (`POST /api/v1/enroll` and `/enroll/renew`). */
export interface EnrollmentReply {
  deviceId: string;
  serial: string;
  certificate: string;
  /** The issuing CA certificate. */
  chain: string;
  caBundle: string;
  commandSigner: string;
  /** ISO 8601. */
  notAfter: string;
  mqtt: { host: string; port: number };
}

export interface EnrollmentTransport {
  /** Enrolls with a one-time token and a CSR for a key the device generated. */
  enroll(token: string, csrPem: string): Promise<EnrollmentReply>;
  /** Renews, authenticated by the device's current certificate and key. */
  renew(csrPem: string, current: { certPem: string; keyPem: string }): Promise<EnrollmentReply>;
}

/** What the device keeps of an enrollment reply, with the key it generated for the request. */
export function credentialsFromReply(reply: EnrollmentReply, keyPem: string): DeviceCredentials {
  const facts = certificateFacts(reply.certificate);
  return {
    keyPem,
    certPem: reply.certificate,
    caBundlePem: reply.caBundle,
    signerPem: reply.commandSigner,
    serial: reply.serial,
    notAfter: Date.parse(reply.notAfter) || facts.notAfter,
    issuedAt: facts.notBefore,
    mqtt: reply.mqtt,
  };
}

export class HttpsEnrollment implements EnrollmentTransport {
  constructor(private readonly api: HubApi) {}

  enroll(token: string, csrPem: string): Promise<EnrollmentReply> {
    return this.api.json<EnrollmentReply>('POST', '/api/v1/enroll', { body: { token, csr: csrPem } });
  }

  renew(csrPem: string, current: { certPem: string; keyPem: string }): Promise<EnrollmentReply> {
    return this.api.json<EnrollmentReply>('POST', '/api/v1/enroll/renew', {
      body: { csr: csrPem },
      cert: current.certPem,
      key: current.keyPem,
    });
  }
}

export interface InProcessEnrollmentDeps {
  enrollment: DeviceEnrollment;
  authority: CertificateAuthority;
  /** What the hub tells devices to connect to. */
  mqtt: { host: string; port: number };
}

/** The hub's enrollment service called directly (no HTTP), with the API's reply shape. */
export class InProcessEnrollment implements EnrollmentTransport {
  constructor(private readonly deps: InProcessEnrollmentDeps) {}

  async enroll(token: string, csrPem: string): Promise<EnrollmentReply> {
    return this.reply(await this.deps.enrollment.enroll(token, csrPem, { source: 'in-process' }));
  }

  async renew(csrPem: string, current: { certPem: string; keyPem: string }): Promise<EnrollmentReply> {
    const { serial, subject } = certificateFacts(current.certPem);
    return this.reply(await this.deps.enrollment.renew(subject ?? '', serial, csrPem, 'in-process'));
  }

  private reply(result: EnrollmentResult): EnrollmentReply {
    const { authority } = this.deps;
    return {
      deviceId: result.deviceId,
      serial: result.serial,
      certificate: result.certificatePem,
      chain: authority.issuingPem,
      caBundle: authority.caBundlePem(),
      commandSigner: authority.commandSigner().certificatePem,
      notAfter: new Date(result.notAfter).toISOString(),
      mqtt: this.deps.mqtt,
    };
  }
}
