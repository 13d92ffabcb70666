// The pure parts of the replay windows (issue 22, item 1): the seq classes with an implausible
// jump, and the spool record that carries the enrollment (and still reads the records before it).
import { describe, expect, it } from 'vitest';
import { decodeSpooledMessage, encodeSpooledMessage } from '../../../ingest/spooled-message.js';
import { classifySeq } from '../../../ingest/validation.js';

describe('classifySeq with a maximum jump', () => {
  it('refuses a jump past the limit, from the last seq or from 0 in a new window', () => {
    expect(classifySeq(undefined, 1, 1_000_000)).toBe('new');
    expect(classifySeq(undefined, 1_000_000, 1_000_000)).toBe('new');
    expect(classifySeq(undefined, 1_000_001, 1_000_000)).toBe('jump');
    expect(classifySeq(undefined, Number.MAX_SAFE_INTEGER, 1_000_000)).toBe('jump');
    expect(classifySeq(5, 1_000_005, 1_000_000)).toBe('new');
    expect(classifySeq(5, 1_000_006, 1_000_000)).toBe('jump');
    expect(classifySeq(5, 5, 1_000_000)).toBe('duplicate');
    expect(classifySeq(5, 4, 1_000_000)).toBe('replay');
  });
});

describe('spooled messages', () => {
  it('carry the enrollment of their replay window', () => {
    const body = encodeSpooledMessage('ox-1', 7, ['a', 'b'], ['r'], '0a1b2c');
    expect(decodeSpooledMessage(body)).toEqual({
      deviceId: 'ox-1',
      seq: 7,
      enrollment: '0a1b2c',
      points: 2,
      lines: 'a\nb\nr',
    });
    expect(decodeSpooledMessage(encodeSpooledMessage('ox-1', 7, ['a'])).enrollment).toBe('');
  });

  it('read a record written before windows with no enrollment', () => {
    const legacy = Buffer.from('VG1 ox-1 7 1\nline', 'utf8');
    expect(decodeSpooledMessage(legacy)).toMatchObject({ deviceId: 'ox-1', seq: 7, enrollment: undefined });
    expect(() => decodeSpooledMessage(Buffer.from('VG2 ox-1 7 1\nline'))).toThrow();
  });
});
