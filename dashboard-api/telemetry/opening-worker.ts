// Opens sealed points in a worker thread, so that a long raw range is decrypted on two cores:
// the reader hands it chunks while it opens others itself (one AES-GCM envelope costs ~5 µs, and
// that cannot be split within one thread). Per job the worker gets a copy of the data key
// (transferred, so the main thread keeps no extra copy, and wiped once the job is done), the
// series' associated-data prefix (ingest/sealing.ts), and the base64 ciphertexts with their
// milliseconds; it opens `iv | tag | ciphertext` as core/keyring.ts does and returns the
// plaintexts (JSON values) as one JSON array. A point that fails authentication fails the job
// (DECRYPTION_FAILED). The thread is started on first use and does not keep the process alive.
import { Worker } from 'node:worker_threads';
import { VitalGateError } from '../../core/errors.js';

// CommonJS, run with `eval`: no loader or build step is involved in starting it.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createDecipheriv } = require('node:crypto');
let sealed = Buffer.alloc(256);
parentPort.on('message', ({ id, key, prefix, c, ms }) => {
  const k = Buffer.from(key);
  try {
    const aad = Buffer.alloc(prefix.length + 24);
    aad.set(prefix, 0);
    const out = new Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const aadLength = prefix.length + aad.write(String(ms[i]), prefix.length, 'latin1');
      if (sealed.length * 4 < c[i].length * 3) sealed = Buffer.alloc(c[i].length);
      const n = sealed.write(c[i], 0, 'base64');
      if (n < 28) throw new Error('truncated');
      const d = createDecipheriv('aes-256-gcm', k, sealed.subarray(0, 12));
      d.setAAD(aad.subarray(0, aadLength));
      d.setAuthTag(sealed.subarray(12, 28));
      const plain = d.update(sealed.subarray(28, n));
      d.final();
      out[i] = plain.toString('utf8');
    }
    parentPort.postMessage({ id, json: '[' + out.join(',') + ']' });
  } catch {
    parentPort.postMessage({ id, failed: true });
  } finally {
    k.fill(0);
    new Uint8Array(key).fill(0);
  }
});
`;

interface Job {
  resolve: (values: unknown[]) => void;
  reject: (err: unknown) => void;
  rows: number;
}

export class OpeningWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;

  /** Jobs sent and not answered yet. */
  get pending(): number {
    return this.jobs.size;
  }

  /**
   * Opens the points of one series and key version. `key` is consumed: its memory is moved to
   * the worker (the caller's buffer is detached). Resolves with each point's parsed plaintext.
   */
  open(
    key: Uint8Array<ArrayBuffer>,
    aadPrefix: Buffer,
    ciphertexts: string[],
    times: number[],
  ): Promise<unknown[]> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, rows: ciphertexts.length });
      if (this.jobs.size === 1) worker.ref();
      worker.postMessage({ id, key: key.buffer, prefix: aadPrefix, c: ciphertexts, ms: times }, [key.buffer]);
    });
  }

  /** Stops the thread; jobs still open fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new VitalGateError('TELEMETRY_UNAVAILABLE', 'the opening worker was stopped'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: { id: number; json?: string; failed?: boolean }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) worker.unref();
      let values: unknown[] | undefined;
      try {
        values = m.json === undefined ? undefined : (JSON.parse(m.json) as unknown[]);
      } catch {
        values = undefined;
      }
      if (m.failed || !Array.isArray(values) || values.length !== job.rows)
        job.reject(new VitalGateError('DECRYPTION_FAILED', 'ciphertext failed authentication'));
      else job.resolve(values);
    });
    const fail = (err: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(err instanceof Error ? err : new Error(String(err)));
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new VitalGateError('TELEMETRY_UNAVAILABLE', 'the opening worker ended')));
    this.worker = worker;
    return worker;
  }

  private failAll(err: unknown): void {
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }
}
