// What the running hub does on top of the broker for operators and the fleet: it carries out the
// CLI's queued requests (wipe, disable, ping, config, patient erasure) and prompts devices inside
// the renewal window (or on the previous issuing CA after a rotation) with a signed rotate-cert. Returns the function that stops both.
import { PatientErasure } from '../core/patient-erasure.js';
import { HubRequestRepository } from '../core/store/hub-requests.js';
import { DeviceCommands } from '../dashboard-api/services/device-commands.js';
import { CertificateRenewalPrompts, RENEWAL_SWEEP_MS } from './certificate-renewal.js';
import type { RunningHub } from './main.js';
import { OperatorRequestDesk } from './operator-requests.js';

export function startOperatorServices(hub: RunningHub): () => void {
  const { ctx, broker, commands, lifecycle, logger, config } = hub;
  const desk = new OperatorRequestDesk({
    requests: new HubRequestRepository(ctx.store.db),
    lifecycle,
    deviceCommands: new DeviceCommands(ctx.store.devices, commands),
    erasure: new PatientErasure(ctx.store, ctx.keyring, broker),
    logger,
  });
  desk.start();

  const renewal = new CertificateRenewalPrompts({
    config,
    store: ctx.store,
    commands,
    logger,
    issuingSerial: () => hub.authority.issuingSerial,
  });
  const onListening = (session: { deviceId: string; serial: string }) => renewal.sweep([session]);
  broker.on('listening', onListening);
  const sweep = setInterval(() => renewal.sweep(broker.liveSessions()), RENEWAL_SWEEP_MS);
  sweep.unref();

  return () => {
    desk.stop();
    clearInterval(sweep);
    broker.off('listening', onListening);
  };
}
