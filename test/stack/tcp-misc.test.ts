import { describe, expect, it } from 'vitest';
import {
  IsnGenerator,
  TimestampState,
  VirtualClock,
  tsRttSample,
  tsValue,
  windowScaleFor,
  PAWS_IDLE_LIMIT_MS,
} from '../../src/stack/index.ts';

const A = new Uint8Array([10, 0, 0, 1]);
const B = new Uint8Array([10, 0, 0, 2]);

describe('RFC 6528 ISN', () => {
  it('is keyed per 4-tuple and advances with a 4 µs clock', () => {
    const clk = new VirtualClock(0);
    const key = new Uint8Array(32).fill(7);
    const g = new IsnGenerator(clk, key);
    const i1 = g.isn(A, 1000, B, 80);
    expect(g.isn(A, 1000, B, 80)).toBe(i1);
    expect(g.isn(A, 1001, B, 80)).not.toBe(i1);
    expect(new IsnGenerator(clk, new Uint8Array(32).fill(8)).isn(A, 1000, B, 80)).not.toBe(i1);
    clk.advance(1);
    expect((g.isn(A, 1000, B, 80) - i1) >>> 0).toBe(250);
    const v6 = new Uint8Array(16).fill(1);
    expect(g.hash(v6, 1, v6, 2)).toBeGreaterThanOrEqual(0);
  });
});

describe('RFC 7323 helpers', () => {
  it('window scale is the smallest shift that fits, at most 14', () => {
    expect(windowScaleFor(65535)).toBe(0);
    expect(windowScaleFor(65536)).toBe(1);
    expect(windowScaleFor(4 << 20)).toBe(7);
    expect(windowScaleFor(2 ** 31)).toBe(14);
  });

  it('PAWS rejects older TSval, honours wrap and the 24-day idle rule', () => {
    const ts = new TimestampState();
    expect(ts.pawsReject(5, 0)).toBe(false);
    ts.update(0xfffffff0, 100, 100, 0);
    expect(ts.recent).toBe(0xfffffff0);
    expect(ts.pawsReject(0xffffffe0, 10)).toBe(true);
    expect(ts.pawsReject(5, 10)).toBe(false); // newer across the wrap
    expect(ts.pawsReject(0xffffffe0, PAWS_IDLE_LIMIT_MS + 1)).toBe(false);
    // Only a segment at or left of Last.ACK.sent updates TS.Recent.
    ts.update(10, 200, 150, 20);
    expect(ts.recent).toBe(0xfffffff0);
    ts.update(10, 150, 150, 20);
    expect(ts.recent).toBe(10);
  });

  it('TSval clock and RTTM samples', () => {
    expect(tsValue(1000.7, 0xffffffff)).toBe(999);
    expect(tsRttSample(0, 10)).toBe(-1);
    expect(tsRttSample(0xfffffff0, 5)).toBe(21);
    expect(tsRttSample(20, 10)).toBe(-1);
  });
});
