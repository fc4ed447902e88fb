// FdSource: files are read in chunks through one buffer that grows only as data arrives.
import { closeSync, openSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FdSource } from '../../src/pcap/fd-source.ts';
import { removeTmp, writeBytes } from './helpers.ts';

afterAll(removeTmp);

function withSource(bytes: Uint8Array, body: (s: FdSource) => void): void {
  const fd = openSync(writeBytes(bytes), 'r');
  try {
    body(new FdSource(fd));
  } finally {
    closeSync(fd);
  }
}

const file = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7) & 0xff);

describe('FdSource', () => {
  it('streams a large file through a 64 KiB buffer with the right bytes and offsets', () => {
    withSource(file, (s) => {
      let at = 0;
      while (s.fill(1000) > 0) {
        const n = Math.min(1000, s.available);
        expect(s.offset).toBe(at);
        expect(s.buf[s.start]).toBe(file[at]);
        expect(s.buf[s.start + n - 1]).toBe(file[at + n - 1]);
        s.consume(n);
        at += n;
      }
      expect(at).toBe(file.length);
      expect(s.buf.length).toBe(64 * 1024);
    });
  });

  it('never allocates a hostile request: the buffer grows only with the data read', () => {
    withSource(file.subarray(0, 1000), (s) => {
      expect(s.fill(1 << 30)).toBe(1000);
      expect(s.buf.length).toBe(64 * 1024);
    });
    withSource(file.subarray(0, 200_000), (s) => {
      expect(s.fill(16 << 20)).toBe(200_000);
      expect(s.buf.length).toBeLessThanOrEqual(512 * 1024);
    });
  });

  it('grows to hold a record larger than the buffer, keeping the unconsumed bytes', () => {
    withSource(file.subarray(0, 400_000), (s) => {
      s.fill(10);
      s.consume(5);
      expect(s.fill(300_000)).toBeGreaterThanOrEqual(300_000);
      expect(s.offset).toBe(5);
      expect(s.buf.subarray(s.start, s.start + 300_000)).toEqual(file.subarray(5, 300_005));
    });
  });
});
