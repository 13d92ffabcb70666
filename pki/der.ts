// Distinguished Encoding Rules (X.690) for the few ASN.1 types a certificate needs: a writer for
// what the CA produces, and a strict reader for locating elements in DER it receives. The reader
// accepts only DER's subset of BER: single-byte tags, definite and minimally encoded lengths, and
// nothing past the end of an element. It never interprets content on its own.

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Bytes backed by a plain ArrayBuffer, as WebCrypto and @peculiar/x509 accept them. */
export type Bytes = Uint8Array<ArrayBuffer>;

// ---------------------------------------------------------------------------------------------
// Writer

function lengthOctets(length: number): Bytes {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function concat(parts: readonly Uint8Array[]): Bytes {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** One TLV: `tag` (a single identifier octet) around the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Bytes {
  const body = contents.length === 1 ? contents[0]! : concat(contents);
  return concat([Uint8Array.of(tag), lengthOctets(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Bytes => tlv(TAG.SEQUENCE, ...items);

/** SET OF, with its elements sorted as DER requires. */
export function setOf(...items: Uint8Array[]): Bytes {
  const sorted = [...items].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  return tlv(TAG.SET, ...sorted);
}

/** Context-specific constructed tag [n] (EXPLICIT, or IMPLICIT over a constructed type). */
export const contextConstructed = (n: number, ...contents: Uint8Array[]): Bytes => tlv(0xa0 | n, ...contents);

/** Context-specific primitive tag [n] IMPLICIT over a primitive type's content octets. */
export const contextPrimitive = (n: number, content: Uint8Array): Bytes => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian magnitude bytes, a bigint or a safe integer. */
export function integer(value: Uint8Array | bigint | number): Bytes {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    bytes = value;
  } else {
    const big = BigInt(value);
    if (big < 0n) throw new DerError('negative INTEGER values are not supported');
    let hex = big.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const magnitude = bytes.length === 0 ? Uint8Array.of(0) : bytes.subarray(start);
  return magnitude[0]! & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), magnitude) : tlv(TAG.INTEGER, magnitude);
}

export const boolean = (value: boolean): Bytes => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0));

export const octetString = (bytes: Uint8Array): Bytes => tlv(TAG.OCTET_STRING, bytes);

export const bitString = (bytes: Uint8Array, unusedBits = 0): Bytes =>
  tlv(TAG.BIT_STRING, Uint8Array.of(unusedBits), bytes);

export const utf8String = (text: string): Bytes => tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));

/** IA5String (ASCII), as URIs and DNS names use. */
export function ia5Content(text: string): Bytes {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) throw new DerError('IA5String must be ASCII');
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

const oidCache = new Map<string, Bytes>();

export function oid(dotted: string): Bytes {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new DerError(`not an OID: ${dotted}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const first = arcs[0]! * 40n + arcs[1]!;
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  const encoded = tlv(TAG.OID, Uint8Array.from(out));
  oidCache.set(dotted, encoded);
  return encoded;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
export function time(date: Date): Bytes {
  const y = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${pad(y % 100)}${rest}`, 'latin1'));
  if (y < 0 || y > 9999) throw new DerError('date out of range');
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(y, 4)}${rest}`, 'latin1'));
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface DerElement {
  /** The identifier octet. */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
}

/** Reads the element at `offset`, which must end at or before `limit`. */
export function readElement(buf: Uint8Array, offset = 0, limit = buf.length): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let length = buf[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 4 || contentStart + count > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[contentStart + i]!;
    if (length < 0x80 || buf[contentStart] === 0) throw new DerError('length is not minimally encoded');
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** Reads `buf` as exactly one element, with nothing after it. */
export function readSingle(buf: Uint8Array): DerElement {
  const element = readElement(buf, 0, buf.length);
  if (element.end !== buf.length) throw new DerError('trailing data after the element');
  return element;
}

/** The elements directly inside a constructed element. */
export function children(buf: Uint8Array, parent: DerElement): DerElement[] {
  if (!(parent.tag & 0x20)) throw new DerError('not a constructed element');
  const out: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = readElement(buf, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (!element || element.tag !== tag) throw new DerError(`expected ${what}`);
  return element;
}

export const content = (buf: Uint8Array, e: DerElement): Uint8Array => buf.subarray(e.contentStart, e.end);

export const encoded = (buf: Uint8Array, e: DerElement): Uint8Array => buf.subarray(e.start, e.end);

export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0 || bytes[bytes.length - 1]! & 0x80) throw new DerError('bad OID');
  const arcs: Array<number | bigint> = [];
  let value = 0;
  let big: bigint | undefined; // once an arc outgrows 2^53 (UUID arcs do)
  let fresh = true;
  for (const b of bytes) {
    if (fresh && b === 0x80) throw new DerError('OID arc is not minimally encoded');
    if (big === undefined && value >= 2 ** 45) big = BigInt(value);
    if (big === undefined) value = value * 128 + (b & 0x7f);
    else big = (big << 7n) | BigInt(b & 0x7f);
    fresh = !(b & 0x80);
    if (fresh) {
      arcs.push(big ?? value);
      value = 0;
      big = undefined;
    }
  }
  const first = arcs[0]!;
  const head =
    typeof first === 'number' && first < 80 ? [Math.floor(first / 40), first % 40] : [2, BigInt(first) - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}
