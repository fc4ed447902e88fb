// A super-frame in packet memory has each segment's payload summed where it lies (the SIMD kernel)
// instead of in the output copy: the output must be the same bytes, segment for segment, and the
// verdicts the same, for every class the kernel oracle generates.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPacketMemory, unregisterPacketMemory } from '../../src/checksum/index.ts';
import { SegmentList, TsoError, gsoSegment } from '../../src/tso/index.ts';
import { generate } from '../oracle/lib/gen.ts';

describe('gsoSegment from packet memory', () => {
  it('gives the output of the plain path byte for byte on 600 generated super-frames', () => {
    const pm = createPacketMemory(256 * 1024);
    const plain = new SegmentList();
    const fromPm = new SegmentList();
    // The segment lengths and a digest of all their bytes, or the verdict's code.
    const run = (f: Uint8Array, h: Parameters<typeof gsoSegment>[0], out: SegmentList): string => {
      try {
        const n = gsoSegment(h, f, out);
        const lens = Array.from({ length: n }, (_, i) => out.length(i)).join(',');
        const hash = createHash('sha1');
        for (let i = 0; i < n; i++) hash.update(out.segment(i));
        const digest = hash.digest('hex');
        return `${n} [${lens}] ${digest}`;
      } catch (e) {
        if (!(e instanceof TsoError)) throw e;
        return e.code;
      }
    };
    let segmented = 0;
    for (const c of generate(20261206, 600)) {
      const inPm = new Uint8Array(pm.buffer, 8 + (c.frame.length & 7), c.frame.length); // odd starts too
      inPm.set(c.frame);
      const a = run(c.frame, c.hdr, plain);
      const b = run(inPm, c.hdr, fromPm);
      expect(b).toEqual(a);
      if (/^([2-9]|\d\d+) /.test(a)) segmented++;
    }
    expect(segmented).toBeGreaterThan(200);
    unregisterPacketMemory(pm.memory);
  });
});
