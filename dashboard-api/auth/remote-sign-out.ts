// The lost device's next request. Whatever it asks for, a browser whose device cookie names a
// device marked lost is answered with `Clear-Site-Data: "cache", "cookies", "storage"` (the
// browser erases this site's cookies, web storage and cache before it reads the answer) and
// with DEVICE_SIGNED_OUT_REMOTELY; a page load is sent on to the console's "signed out remotely"
// page instead. Its sessions ended when it was marked lost, so nothing else is served either.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../core/audit.js';
import { VitalGateError } from '../../core/errors.js';
import type { StaffDeviceRecord } from '../../core/store/staff-devices.js';
import type { StaffDeviceService } from './staff-devices.js';

export const CLEAR_SITE_DATA = '"cache", "cookies", "storage"';
export const SIGNED_OUT_REMOTELY_PAGE = '/#/signed-out-remotely';

declare module 'fastify' {
  interface FastifyRequest {
    /** The staff device the request's device cookie names (never a lost one). */
    staffDevice?: StaffDeviceRecord;
  }
}

export function remoteSignOutHook(staffDevices: StaffDeviceService, audit: AuditLog) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const device = staffDevices.fromRequest(request);
    if (!device) return;
    if (device.lostAt === null) {
      request.staffDevice = device;
      staffDevices.seen(device, request.ip);
      return;
    }
    staffDevices.recordWipe(device, request.ip);
    audit.append({
      actor: `user:${device.username}`,
      action: 'auth.session',
      target: `staff_device:${device.id}`,
      outcome: 'denied',
      source: request.ip,
      details: { code: 'DEVICE_SIGNED_OUT_REMOTELY' },
    });
    void reply.header('clear-site-data', CLEAR_SITE_DATA);
    const pageLoad =
      request.method === 'GET' &&
      !request.url.startsWith('/api/') &&
      String(request.headers.accept ?? '').includes('text/html');
    if (pageLoad) return reply.redirect(SIGNED_OUT_REMOTELY_PAGE, 303);
    throw new VitalGateError(
      'DEVICE_SIGNED_OUT_REMOTELY',
      'this device was signed out remotely (it was marked lost); what this site kept in the browser is erased',
    );
  };
}
