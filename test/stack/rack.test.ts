// RFC 8985 RACK-TLP on a virtual clock: the reordering window, lost retransmissions, the
// retransmission-ambiguity rule, D-SACK widening, the PTO formula, and a Tcb's loss probe.
import { describe, expect, it } from 'vitest';
import { TcpFlags, TcpOptions } from '../../src/wire/index.ts';
import {
  Rack,
  RtxQueue,
  TAG_LOST,
  Tcb,
  TcpCounters,
  TcpSegmentIn,
  VirtualClock,
  WC_DELACK_MS,
  type TcbOptions,
  type TcpEnv,
} from '../../src/stack/index.ts';

const MSS = 100;

/** Five segments of 100 bytes from 0, sent at t = 0..4. */
function flight(): { q: RtxQueue; r: Rack } {
  const q = new RtxQueue(32);
  q.reset(0);
  for (let i = 0; i < 5; i++) q.sent(i * MSS, MSS, i);
  const r = new Rack();
  r.reset(0);
  return { q, r };
}

const lost = (q: RtxQueue): number[] => {
  const out: number[] = [];
  for (let i = 0; i < q.count; i++) if ((q.tag(i) & TAG_LOST) !== 0) out.push(q.start(i));
  return out;
};

describe('RACK (RFC 8985 §6)', () => {
  it('waits a reordering window of min_RTT/4 before a segment sent earlier is lost', () => {
    const { q, r } = flight();
    r.rttSample(40);
    // At t = 42 segment 2 (sent at 2) is SACKed: RACK.rtt = 40.
    r.begin(42);
    q.sack(200, 300, r);
    expect(r.rtt).toBe(40);
    const reo = r.reoWnd(false, false, 50);
    expect(reo).toBe(10); // min(min_RTT/4, SRTT)
    expect(r.detectLoss(q, 42, reo)).toBe(0);
    // Segment 0 expires at 0 + 40 + 10, segment 1 at 51: the reorder timer asks for the later.
    expect(r.timeout).toBe(9);
    expect(r.detectLoss(q, 50, reo)).toBe(1);
    expect(lost(q)).toEqual([0]);
    expect(r.detectLoss(q, 51, reo)).toBe(1);
    expect(lost(q)).toEqual([0, 100]);
    // Segments sent after the delivered one are never judged.
    expect(r.detectLoss(q, 1000, reo)).toBe(0);
  });

  it('has no reordering window in recovery or with DupThresh SACKed, until reordering is seen', () => {
    const { q, r } = flight();
    r.rttSample(40);
    expect(r.reoWnd(true, false, 50)).toBe(0);
    expect(r.reoWnd(false, true, 50)).toBe(0);
    // Segment 3 delivered, then segment 1 (never resent) below it: reordering.
    r.begin(45);
    q.sack(300, 400, r);
    q.sack(100, 200, r);
    expect(r.reorderingSeen).toBe(true);
    expect(r.reoWnd(true, true, 50)).toBe(10);
  });

  it('finds a lost retransmission once a segment sent after it is delivered', () => {
    const { q, r } = flight();
    r.rttSample(10);
    r.begin(20);
    q.sack(100, 500, r);
    expect(r.detectLoss(q, 20, 0)).toBe(1);
    q.retransmitted(0, MSS, 20);
    // New data at t = 21, SACKed at t = 31: the retransmission (t = 20) went before it.
    q.sent(500, MSS, 21);
    r.begin(31);
    q.sack(500, 600, r);
    expect(r.detectLoss(q, 31, 0)).toBe(1);
    expect(q.nextLost(MSS)).toBe(true);
    expect(q.nextSeq).toBe(0);
  });

  it('ignores the delivery of a retransmitted segment sooner than min_RTT after it was resent', () => {
    const { q, r } = flight();
    r.rttSample(30);
    q.retransmitted(0, MSS, 50);
    r.begin(55); // 5 ms after the retransmission: the ACK was for the original
    q.ack(100, r);
    expect(r.xmitTs).toBe(-1);
    r.begin(60);
    q.ack(200, r);
    expect(r.xmitTs).toBe(1);
    expect(r.rtt).toBe(59);
  });

  it('D-SACK widens the window once per round trip, for 16 recoveries', () => {
    const r = new Rack();
    r.reset(0);
    r.rttSample(40);
    r.onDsack(0, 1000);
    r.onDsack(500, 1000); // same round trip
    expect(r.reoWndMult).toBe(2);
    r.onDsack(1000, 2000);
    expect(r.reoWndMult).toBe(3);
    expect(r.reoWnd(false, false, 1000)).toBe(30);
    for (let i = 0; i < 15; i++) r.onRecoveryEnd();
    expect(r.reoWndMult).toBe(3);
    r.onRecoveryEnd();
    expect(r.reoWndMult).toBe(1);
  });

  it('PTO = 2·SRTT (+ WCDelAckT for a lone segment), 1 s without a sample', () => {
    const r = new Rack();
    expect(r.pto({ samples: 0, srtt: 0 }, false)).toBe(1000);
    expect(r.pto({ samples: 1, srtt: 10 }, false)).toBe(22);
    expect(r.pto({ samples: 1, srtt: 10 }, true)).toBe(20 + WC_DELACK_MS);
    // Whole milliseconds, rounded up (Linux's jiffies).
    expect(r.pto({ samples: 3, srtt: 0.0301 }, false)).toBe(3);
    expect(r.pto({ samples: 3, srtt: 10.2 }, false)).toBe(23);
  });
});

describe('Tcb tail loss probe (RFC 8985 §7)', () => {
  const { ACK, SYN } = TcpFlags;
  function setup(opts: TcbOptions = {}) {
    const clock = new VirtualClock(0);
    const sent: Array<{ seq: number; len: number; at: number }> = [];
    const counters = new TcpCounters();
    const env: TcpEnv = {
      timers: clock.timers,
      counters,
      tsoMax: 0,
      sendSegment: (_t, seq, _flags, len) => {
        sent.push({ seq, len, at: clock.now() });
        return true;
      },
      detach: () => {},
      established: () => {},
      challengeAckAllowed: () => true,
    };
    const t = new Tcb(env, { timestamps: false, windowScaling: false, minRto: 200, ...opts });
    t.connect(1000, 1460);
    const seg = new TcpSegmentIn(new TcpOptions());
    const input = (ack: number, flags: number = ACK, sack: Array<[number, number]> = []): void => {
      seg.opts.clear();
      seg.opts.sackPermitted = (flags & SYN) !== 0;
      if ((flags & SYN) !== 0) seg.opts.mss = 1460;
      for (const [l, rr] of sack) {
        seg.opts.sackLeft[seg.opts.sackCount] = l;
        seg.opts.sackRight[seg.opts.sackCount++] = rr;
      }
      seg.seq = (flags & SYN) !== 0 ? 5000 : 5001;
      seg.ack = ack;
      seg.flags = flags;
      seg.wnd = 65535;
      seg.src = new Uint8Array(0);
      seg.dataOff = 0;
      seg.dataLen = 0;
      t.input(seg);
    };
    input(1001, SYN | ACK);
    t.rto.sample(10); // SRTT 10 ms, RTO at its 200 ms floor
    t.rack.rttSample(10);
    sent.length = 0;
    return { clock, t, sent, input, counters };
  }

  it('probes the last segment at 2·SRTT + 2 ms, long before the RTO, and the RTO follows it', () => {
    const { clock, t, sent, counters } = setup();
    t.write(new Uint8Array(4380), 0, 4380);
    expect(sent.map((s) => s.seq)).toEqual([1001, 2461, 3921]);
    sent.length = 0;
    clock.advance(21);
    expect(sent).toEqual([]); // PTO = 2·10 + 2
    clock.advance(1);
    expect(sent).toEqual([{ seq: 3921, len: 1460, at: 22 }]);
    expect(counters.tlpProbes).toBe(1);
    // One probe per episode: the next expiry is the RTO, restarted by the probe.
    clock.advance(t.rto.rto - 1);
    expect(sent.length).toBe(1);
    clock.advance(1);
    expect(sent[1]!.seq).toBe(1001);
    expect(counters.timeouts).toBe(1);
  });

  it("the probe's SACK starts recovery for the segments before it", () => {
    const { clock, t, sent, input, counters } = setup();
    t.write(new Uint8Array(4380), 0, 4380);
    clock.advance(22);
    sent.length = 0;
    clock.advance(10);
    input(1001, ACK, [[3921, 5381]]);
    expect(t.inRecovery).toBe(true);
    expect(sent[0]).toMatchObject({ seq: 1001, len: 1460 });
    expect(counters.timeouts).toBe(0);
  });

  it('no probe without SACK or with RACK off', () => {
    for (const opts of [{ sack: false }, { rack: false }]) {
      const { clock, t, counters } = setup(opts);
      t.write(new Uint8Array(4380), 0, 4380);
      clock.advance(100);
      expect(counters.tlpProbes).toBe(0);
    }
  });
});
