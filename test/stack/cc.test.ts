import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CUBIC_ALPHA,
  Cubic,
  NewReno,
  createCongestionControl,
  cubicK,
  initialWindow,
  wCubic,
} from '../../src/stack/index.ts';

describe('RFC 6928 initial window', () => {
  it('is min(10 MSS, max(2 MSS, 14600))', () => {
    expect(initialWindow(1460)).toBe(14600);
    expect(initialWindow(536)).toBe(5360);
    expect(initialWindow(8960)).toBe(17920);
    expect(initialWindow(1000)).toBe(10000);
  });
});

describe('NewReno', () => {
  it('slow start adds the bytes ACKed (RFC 3465, Linux), then one SMSS per cwnd', () => {
    const c = new NewReno(1000);
    expect(c.cwnd).toBe(10000);
    c.onAck(3000);
    expect(c.cwnd).toBe(13000);
    c.ssthresh = 14000;
    c.onAck(15000); // 1000 to reach ssthresh, the rest counts toward congestion avoidance
    expect(c.cwnd).toBe(15000);
    c.cwnd = 11000;
    c.onCongestion(0, 20000);
    expect(c.ssthresh).toBe(10000);
    expect(c.cwnd).toBe(10000);
    for (let i = 0; i < 9; i++) c.onAck(1000);
    expect(c.cwnd).toBe(10000);
    c.onAck(1000);
    expect(c.cwnd).toBe(11000);
  });

  it('halves flight on loss, at least 2 SMSS; RTO leaves one SMSS', () => {
    const c = createCongestionControl('newreno', 1000);
    c.onCongestion(0, 1500);
    expect(c.ssthresh).toBe(2000);
    c.onRto(0, 30000);
    expect(c.ssthresh).toBe(15000);
    expect(c.cwnd).toBe(1000);
    c.onIdleRestart(0);
    expect(c.cwnd).toBe(1000);
  });
});

describe('CUBIC (RFC 9438)', () => {
  it('W_cubic and K match the RFC formulas', () => {
    // K = cbrt(W_max (1-β) / C) for cwnd_epoch = β W_max.
    const k = cubicK(100, 70);
    expect(k).toBeCloseTo(Math.cbrt((100 * 0.3) / 0.4), 12);
    expect(wCubic(k, k, 100)).toBe(100);
    expect(wCubic(0, k, 100)).toBeCloseTo(70, 9);
    expect(wCubic(k + 2, k, 100)).toBeCloseTo(100 + 0.4 * 8, 9);
    expect(CUBIC_ALPHA).toBeCloseTo((3 * 0.3) / 1.7, 12);
  });

  it('reduces by β with fast convergence', () => {
    const c = new Cubic(1000);
    c.cwnd = 100000;
    c.onCongestion(0, 100000);
    expect(c.wMax).toBe(100);
    expect(c.ssthresh).toBeCloseTo(70000, 6);
    expect(c.cwnd).toBeCloseTo(70000, 6);
    // A second loss below the old W_max: W_max = cwnd (1+β)/2.
    c.onCongestion(0, 70000);
    expect(c.wMax).toBeCloseTo(70 * 0.85, 9);
  });

  it('tracks W_cubic(t+RTT) in congestion avoidance and plateaus at W_max', () => {
    const mss = 1000;
    const c = new Cubic(mss);
    c.cwnd = 100 * mss;
    c.onCongestion(0, 100 * mss);
    const rtt = 100;
    let now = 0;
    // One RTT worth of ACKs per step (cwnd/mss ACKs of one MSS each).
    for (let step = 0; step < 200; step++) {
      const acks = Math.floor(c.cwnd / mss);
      for (let i = 0; i < acks; i++) c.onAck(mss, now, rtt);
      now += rtt;
      const t = now / 1000;
      const target = Math.max(wCubic(t, c.k, 100), c.wEst);
      // cwnd follows the larger of the cubic curve and the Reno estimate within a few segments.
      expect(Math.abs(c.cwnd / mss - target)).toBeLessThan(Math.max(3, 0.06 * target));
    }
    expect(c.k).toBeCloseTo(Math.cbrt(30 / 0.4), 6);
  });

  it('cwnd grows monotonically in CA and never more than 1.5x per RTT', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 400 }), fc.integer({ min: 5, max: 300 }), (w, rtt) => {
        const mss = 1448;
        const c = new Cubic(mss);
        c.cwnd = w * mss;
        c.onCongestion(0, w * mss);
        let now = 0;
        for (let step = 0; step < 30; step++) {
          const before = c.cwnd;
          const acks = Math.floor(c.cwnd / mss);
          for (let i = 0; i < acks; i++) c.onAck(mss, now, rtt);
          now += rtt;
          expect(c.cwnd).toBeGreaterThanOrEqual(before);
          expect(c.cwnd).toBeLessThanOrEqual(before * 1.5 + 2 * mss);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('RTO: cwnd one segment, then slow start to ssthresh', () => {
    const c = new Cubic(1000);
    c.cwnd = 50000;
    c.onRto(0, 50000);
    expect(c.cwnd).toBe(1000);
    expect(c.ssthresh).toBeCloseTo(35000, 6);
    c.onAck(1000, 0, 50);
    expect(c.cwnd).toBe(2000);
  });
});
