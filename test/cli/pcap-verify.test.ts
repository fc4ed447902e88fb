// verifyPacket on hostile bytes: any mutation or truncation of the known cases yields verdicts (or
// none), never an exception; and a single flipped bit inside a checked range turns good into bad.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CapturePacket } from '../../src/pcap/index.ts';
import { verifyPacket, type Verdicts } from '../../src/cli/pcap-verify.ts';
import { cases } from '../pcap/verify-cases.ts';

function packet(linktype: number, bytes: Uint8Array, comment: string | null): CapturePacket {
  const p = new CapturePacket();
  p.linktype = linktype;
  // put the frame at an offset inside a bigger buffer, as the reader does
  p.buffer = new Uint8Array(bytes.length + 13);
  p.buffer.set(bytes, 7);
  p.dataOffset = 7;
  p.caplen = bytes.length;
  p.origlen = bytes.length;
  p.comment = comment;
  return p;
}

describe('verifyPacket', () => {
  it('never throws on mutated or truncated frames', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: cases.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (i, edits, cut) => {
          const [, lt, bytes, comment] = cases[i]!;
          const b = Uint8Array.from(bytes);
          for (const [at, v] of edits) b[at % b.length] = v;
          const v: Verdicts = {};
          verifyPacket(packet(lt, b.subarray(0, cut % (b.length + 1)), comment), v);
          for (const x of Object.values(v)) expect(['good', 'bad', 'partial']).toContain(x);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('turns good into bad when one bit of a checked L4 range flips', () => {
    const [, lt, bytes] = cases.find((c) => c[0] === 'udp6 good')!;
    const v: Verdicts = {};
    // bytes 14..54 are the IPv6 header: only its addresses (22..54) are in the pseudo-header;
    // the UDP length (58, 59) no longer matching the IPv6 payload makes the datagram malformed.
    for (let at = 22; at < bytes.length; at++) {
      if (at === 58 || at === 59) continue;
      const b = Uint8Array.from(bytes);
      b[at] = b[at]! ^ 0x10;
      verifyPacket(packet(lt, b, null), v);
      expect([at, v.udp]).toEqual([at, 'bad']);
    }
  });
});
