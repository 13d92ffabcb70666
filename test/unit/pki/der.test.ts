// The DER writer against known encodings (X.690 examples and openssl output), and the strict
// reader's refusals.
import { describe, expect, it } from 'vitest';
import {
  DerError,
  children,
  decodeOid,
  integer,
  oid,
  readElement,
  readSingle,
  sequence,
  setOf,
  time,
  utf8String,
} from '../../../pki/der.js';
import { ipAddressOctets, keyUsage } from '../../../pki/x509-encoding.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('writer', () => {
  it('INTEGER: minimal, positive, with a 00 pad only when the top bit is set', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(Uint8Array.of(0, 0, 0x12)))).toBe('020112');
    expect(hex(integer(Uint8Array.of(0xff, 0xee)))).toBe('020300ffee');
    expect(hex(integer(1n << 64n))).toBe('0209010000000000000000');
    expect(() => integer(-1)).toThrow(DerError);
  });

  it('OBJECT IDENTIFIER, and back', () => {
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
    const uuidArc = '2.25.216433528307915406727327207932926530158';
    expect(decodeOid(oid(uuidArc).subarray(2))).toBe(uuidArc);
    expect(decodeOid(oid('1.3.6.1.5.5.7.3.2').subarray(2))).toBe('1.3.6.1.5.5.7.3.2');
    expect(() => oid('1.2.03')).toThrow(DerError);
  });

  it('lengths: short form below 128, long form with the fewest octets above', () => {
    expect(hex(sequence(new Uint8Array(127))).slice(0, 4)).toBe('307f');
    expect(hex(sequence(new Uint8Array(128))).slice(0, 6)).toBe('308180');
    expect(hex(sequence(new Uint8Array(256))).slice(0, 8)).toBe('30820100');
    expect(hex(sequence(new Uint8Array(70_000))).slice(0, 10)).toBe('3083011170');
  });

  it('times: UTCTime through 2049, GeneralizedTime from 2050, whole seconds', () => {
    expect(Buffer.from(time(new Date('2026-11-22T23:55:33.789Z'))).toString('latin1')).toBe(
      '\x17\x0d261122235533Z',
    );
    expect(Buffer.from(time(new Date('2049-12-31T23:59:59Z'))).toString('latin1')).toBe(
      '\x17\x0d491231235959Z',
    );
    expect(Buffer.from(time(new Date('2050-01-01T00:00:00Z'))).toString('latin1')).toBe(
      '\x18\x0f20500101000000Z',
    );
  });

  it('SET OF sorts its elements', () => {
    expect(hex(setOf(utf8String('b'), utf8String('a')))).toBe('31060c01610c0162');
  });

  it('KeyUsage BIT STRING drops trailing zero bits', () => {
    // digitalSignature + keyAgreement = 1000 1000: 3 unused bits
    expect(hex(keyUsage(['digitalSignature', 'keyAgreement'])).endsWith('040403020388')).toBe(true);
    expect(hex(keyUsage(['keyCertSign', 'cRLSign'])).endsWith('040403020106')).toBe(true);
    expect(hex(keyUsage(['digitalSignature'])).endsWith('040403020780')).toBe(true);
  });

  it('IP addresses to octets, IPv6 in every textual form', () => {
    expect(hex(ipAddressOctets('127.0.0.1'))).toBe('7f000001');
    expect(hex(ipAddressOctets('::1'))).toBe('00000000000000000000000000000001');
    expect(hex(ipAddressOctets('::'))).toBe('0'.repeat(32));
    expect(hex(ipAddressOctets('2001:db8::7'))).toBe('20010db8000000000000000000000007');
    expect(hex(ipAddressOctets('fe80::1:2'))).toBe('fe800000000000000000000000010002');
    expect(hex(ipAddressOctets('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(ipAddressOctets('::ffff:10.0.0.1'))).toBe('00000000000000000000ffff0a000001');
    expect(hex(ipAddressOctets('64:ff9b::192.0.2.33'))).toBe('0064ff9b0000000000000000c0000221');
    expect(hex(ipAddressOctets('1:2:3:4:5:6:10.0.0.1'))).toBe('0001000200030004000500060a000001');
    for (const bad of ['256.1.1.1', '1::2::3', 'fe80::1%eth0', 'localhost', '']) {
      expect(() => ipAddressOctets(bad)).toThrow(DerError);
    }
  });
});

describe('strict reader', () => {
  const seq = sequence(integer(1), utf8String('x'));

  it('walks a structure', () => {
    const top = readSingle(seq);
    expect(children(seq, top).map((c) => c.tag)).toEqual([0x02, 0x0c]);
  });

  it('refuses trailing data, truncation, indefinite and non-minimal lengths, multi-byte tags', () => {
    expect(() => readSingle(Uint8Array.of(...seq, 0))).toThrow(DerError);
    expect(() => readSingle(seq.subarray(0, seq.length - 1))).toThrow(DerError);
    expect(() => readElement(Uint8Array.of(0x30, 0x80, 0, 0))).toThrow(/indefinite/);
    expect(() => readElement(Uint8Array.of(0x30, 0x81, 0x05, 1, 2, 3, 4, 5))).toThrow(/minimally/);
    expect(() => readElement(Uint8Array.of(0x30, 0x82, 0x00, 0x81, ...new Uint8Array(0x81)))).toThrow(
      /minimally/,
    );
    expect(() => readElement(Uint8Array.of(0x1f, 0x81, 0x01, 0x00))).toThrow(/multi-byte/);
    expect(() => readElement(Uint8Array.of(0x30, 0x85, 1, 1, 1, 1, 1))).toThrow(/bad length/);
    // A child that claims to run past its parent.
    expect(() =>
      children(
        Uint8Array.of(0x30, 0x03, 0x02, 0x05, 0x00),
        readElement(Uint8Array.of(0x30, 0x03, 0x02, 0x05, 0x00)),
      ),
    ).toThrow(DerError);
  });

  it('refuses non-minimal OID arcs', () => {
    expect(() => decodeOid(Uint8Array.of(0x2a, 0x80, 0x01))).toThrow(DerError);
    expect(() => decodeOid(Uint8Array.of(0x2a, 0x86))).toThrow(DerError);
  });
});
