import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RtoEstimator } from '../../src/stack/index.ts';

describe('RFC 6298 RTO', () => {
  it('starts at 1 s and follows (2.2)/(2.3)', () => {
    const r = new RtoEstimator({ minRto: 200 });
    expect(r.rto).toBe(1000);
    r.sample(100);
    // (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 300.
    expect(r.srtt).toBe(100);
    expect(r.rttvar).toBe(50);
    expect(r.rto).toBe(300);
    r.sample(200);
    // (2.3): RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5.
    expect(r.rttvar).toBe(62.5);
    expect(r.srtt).toBe(112.5);
    expect(r.rto).toBe(112.5 + 250);
  });

  it('uses G when 4*RTTVAR is smaller and clamps to minRto', () => {
    const r = new RtoEstimator({ granularity: 10, minRto: 0 });
    r.sample(0);
    expect(r.rto).toBe(10);
    const s = new RtoEstimator();
    s.sample(10);
    expect(s.rto).toBe(1000);
  });

  it('doubles on backoff up to maxRto and a valid sample clears it', () => {
    const r = new RtoEstimator({ minRto: 200, maxRto: 60000 });
    r.sample(100);
    r.backoff();
    expect(r.rto).toBe(600);
    r.backoff();
    expect(r.rto).toBe(1200);
    for (let i = 0; i < 20; i++) r.backoff();
    expect(r.rto).toBe(60000);
    r.sample(100);
    expect(r.backoffs).toBe(0);
  });

  it('backs off the floored RTO (RFC 6298 (5.5)), even when the estimate is below the floor', () => {
    const r = new RtoEstimator({ minRto: 200, maxRto: 120000 });
    r.sample(0);
    expect(r.rto).toBe(200);
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      r.backoff();
      seen.push(r.rto);
    }
    // Doubling the unfloored estimate (1 ms) would have stayed at 200 for seven expiries.
    expect(seen).toEqual([400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400, 120000, 120000, 120000]);
  });

  it('Karn: no sample from a segment timed across a retransmission', () => {
    const r = new RtoEstimator();
    r.startTiming(1000, 0);
    r.onRetransmit();
    r.onAck(1000, 500);
    expect(r.samples).toBe(0);
    r.startTiming(2000, 600);
    r.startTiming(3000, 700); // ignored: one timed segment at a time
    r.onAck(1500, 650);
    expect(r.samples).toBe(0);
    r.onAck(2000, 640 + 60);
    expect(r.samples).toBe(1);
    expect(r.srtt).toBe(100);
  });

  it('after SYN loss the first RTO is 3 s', () => {
    const r = new RtoEstimator();
    r.backoff();
    r.afterSynLoss();
    expect(r.rto).toBe(3000);
  });

  it('RTO stays within bounds for any sample sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100000 }), { minLength: 1, maxLength: 50 }), (xs) => {
        const r = new RtoEstimator();
        for (const x of xs) r.sample(x);
        expect(r.rto).toBeGreaterThanOrEqual(1000);
        expect(r.rto).toBeLessThanOrEqual(60000);
        expect(r.srtt).toBeLessThanOrEqual(Math.max(...xs));
        expect(r.srtt).toBeGreaterThanOrEqual(Math.min(...xs));
      }),
    );
  });
});
