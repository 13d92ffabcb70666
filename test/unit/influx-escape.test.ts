import { describe, expect, it } from 'vitest';
import {
  escapeKey,
  escapeMeasurement,
  escapeTagValue,
  quoteIdentifier,
  quoteLiteral,
  stringField,
} from '../../core/influx.js';

const badInput = expect.objectContaining({ code: 'INFLUX_BAD_INPUT' });

describe('line protocol escaping', () => {
  it('escapes commas and spaces in measurements, and leaves equals signs alone', () => {
    expect(escapeMeasurement('tele metry,x')).toBe('tele\\ metry\\,x');
    expect(escapeMeasurement('a=b')).toBe('a=b');
  });

  it('escapes commas, equals signs and spaces in tag keys, tag values and field keys', () => {
    expect(escapeKey('a,b=c d')).toBe('a\\,b\\=c\\ d');
    expect(escapeTagValue('x y')).toBe('x\\ y');
    expect(escapeKey('plain-id_1.2')).toBe('plain-id_1.2');
    expect(escapeKey('quote"d')).toBe('quote"d');
  });

  it('keeps backslashes InfluxDB 1.x keeps literally, and refuses the ones it would alter', () => {
    expect(escapeKey('c\\d')).toBe('c\\d');
    expect(escapeKey('a\\\\b')).toBe('a\\\\b');
    expect(escapeMeasurement('m\\x')).toBe('m\\x');
    for (const value of ['end\\', 'a\\,b', 'a\\ b', 'a\\=b', 'a\\"b']) {
      expect(() => escapeKey(value), value).toThrow(badInput);
    }
    expect(() => escapeMeasurement('a\\,b')).toThrow(badInput);
    expect(() => escapeMeasurement('end\\')).toThrow(badInput);
  });

  it('refuses empty names and newlines', () => {
    expect(() => escapeKey('')).toThrow(badInput);
    expect(() => escapeMeasurement('')).toThrow(badInput);
    for (const value of ['a\nb', 'a\rb']) {
      expect(() => escapeKey(value)).toThrow(badInput);
      expect(() => escapeMeasurement(value)).toThrow(badInput);
      expect(() => stringField(value)).toThrow(badInput);
      expect(() => quoteLiteral(value)).toThrow(badInput);
      expect(() => quoteIdentifier(value)).toThrow(badInput);
    }
  });

  it('quotes string fields, escaping backslashes and double quotes only', () => {
    expect(stringField('plain text, a=b')).toBe('"plain text, a=b"');
    expect(stringField('x"y\\z')).toBe('"x\\"y\\\\z"');
    expect(stringField('')).toBe('""');
    expect(stringField("it's")).toBe('"it\'s"');
  });

  it('never names the value in its error', () => {
    try {
      escapeKey('secret-ish\n');
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('secret-ish');
    }
  });
});

describe('InfluxQL quoting', () => {
  it('quotes string literals with single quotes', () => {
    expect(quoteLiteral("o'brien")).toBe("'o\\'brien'");
    expect(quoteLiteral('a\\b')).toBe("'a\\\\b'");
    expect(quoteLiteral('a"b')).toBe("'a\"b'");
  });

  it('quotes identifiers with double quotes', () => {
    expect(quoteIdentifier('tele metry')).toBe('"tele metry"');
    expect(quoteIdentifier('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(() => quoteIdentifier('')).toThrow(badInput);
  });
});
