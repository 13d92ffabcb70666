// PUBACKs in batches: Aedes writes one PUBACK per QoS-1 publish, and Node's TLS socket turns each
// write into its own TLS record and write(2) (~30 % of the broker's CPU per message). The socket
// is corked when a chunk arrives and uncorked in the check phase of the same event-loop turn, so
// the PUBACKs for the publishes of that chunk (written once the intake has answered, in
// microtasks) leave as one record. Nothing waits longer than that turn; an intake that answers
// later writes its PUBACK uncorked, as before.
import type { Socket } from 'node:net';

export function batchWritesPerRead(socket: Socket): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.on('data', () => {
    if (corked) return;
    corked = true;
    socket.cork();
    setImmediate(uncork);
  });
}
