// A stale TSecr must not become an RTT sample. Of two segments the first is lost over and over
// (the RTO backs off to seconds) while the second arrives; one retransmission of the first gets
// through but the ACK of both is lost; the next retransmission lies wholly below the receiver's
// Last.ACK.sent, so it is answered before TS.Recent is updated (RFC 7323 §5.3 R2 before R3) and
// the ACK echoes the previous retransmission's TSval, a whole backed-off RTO old. That ACK
// advances SND.UNA; taken as a sample it inflates SRTT by seconds.
import { describe, expect, it } from 'vitest';
import { seqU32, type Socket } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil } from './harness.ts';

const MSS = 1448;

describe('RTT sampling after a lost ACK', () => {
  it('the ACK of a full-duplicate retransmission echoing an older TSval gives no sample', async () => {
    const p = makePair();
    const got: Buffer[] = [];
    p.b.net.createServer((s) => s.on('data', (d: Buffer) => got.push(d))).listen(5001);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 5001 });
    const received = (): number => got.reduce((n, b) => n + b.length, 0);
    const warm = randomBytesSeeded(64 * 1024, 1);
    c.write(warm);
    await runUntil(p, () => received() === warm.length);
    const tcb = (c as Socket).tcb!;
    await runUntil(p, () => tcb.snd.flightSize === 0);
    const srttBefore = tcb.rto.srtt;
    expect(srttBefore).toBeLessThan(100);
    // The first segment's first 5 transmissions are lost (the RTO backs off 5 times), the 6th
    // arrives and the ACK for both is lost, the 7th arrives as an old duplicate.
    const s0 = tcb.snd.max;
    let dataSent = 0;
    p.la.drop = (m) => {
      if (m.length < 14 + 20 + 20 + 1 || m.getU32(14 + 20 + 4) !== seqU32(s0)) return false;
      return ++dataSent <= 5;
    };
    let acksDropped = 0;
    p.lb.drop = (m) => {
      if (dataSent !== 6 || acksDropped > 0 || m.length < 14 + 20 + 20) return false;
      if (m.getU32(14 + 20 + 8) !== (s0 + 2 * MSS) >>> 0) return false;
      acksDropped++;
      return true;
    };
    c.write(randomBytesSeeded(2 * MSS, 2));
    await runUntil(p, () => tcb.snd.flightSize === 0, 600_000);
    expect(dataSent).toBe(7);
    expect(acksDropped).toBe(1);
    expect(received()).toBe(warm.length + 2 * MSS);
    expect(tcb.rto.srtt).toBeLessThan(srttBefore + 100);
  });
});
