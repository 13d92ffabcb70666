// The socket is corked from the first chunk of a turn until that turn's check phase, once.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { batchWritesPerRead } from '../../../broker/write-batching.js';

class FakeSocket extends EventEmitter {
  corked = 0;
  corks = 0;
  cork() {
    this.corked += 1;
    this.corks += 1;
  }
  uncork() {
    this.corked -= 1;
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('batchWritesPerRead', () => {
  it('corks on the first chunk of a turn and uncorks in the same turn', async () => {
    const socket = new FakeSocket();
    batchWritesPerRead(socket as unknown as Socket);
    socket.emit('data', Buffer.from([0x30]));
    socket.emit('data', Buffer.from([0x30]));
    await Promise.resolve(); // the intake's microtasks: PUBACKs written now are held
    expect(socket.corked).toBe(1);
    await nextTurn();
    expect(socket.corked).toBe(0);
    expect(socket.corks).toBe(1);
    socket.emit('data', Buffer.from([0x30]));
    expect(socket.corked).toBe(1);
    await nextTurn();
    expect(socket.corked).toBe(0);
    expect(socket.corks).toBe(2);
  });

  it('never leaves a socket corked without data', async () => {
    const socket = new FakeSocket();
    batchWritesPerRead(socket as unknown as Socket);
    await nextTurn();
    expect(socket.corks).toBe(0);
  });
});
