// TSO deferral (tcp_tso_should_defer): a cwnd-limited sender waits for the next ACK rather than
// send a super-frame as small as each ACK's advance. Without it a stream with large buffers fell,
// after its first loss, into frames of 2–3 segments for good (ACK clocking kept them that small).
import { describe, expect, it } from 'vitest';
import { makePair, randomBytesSeeded, runUntil, sha256, sink } from './harness.ts';

const ALL = { txCsum: true, rxCsum: true, tso4: true, rxGso: true };

describe('TSO deferral', () => {
  it('after losses a cwnd-limited stream still sends large super-frames', async () => {
    const p = makePair({ pair: { a: { offloads: ALL }, b: { offloads: ALL } } });
    // A few data frames lost early: recovery halves cwnd, and from then on the sender is
    // cwnd-limited (the 4 MiB buffers and window are far larger).
    p.la.drop = (_m, i) => i === 40 || i === 41 || i === 300;
    const tcp = { sndBuf: 4 << 20, rcvBuf: 4 << 20 };
    const data = randomBytesSeeded(48 << 20, 3);
    const s = sink(p, tcp);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 5001, ...tcp });
    c.end(data);
    await runUntil(p, () => s.done(), 3_600_000);
    expect(sha256(s.bytes())).toBe(sha256(data));
    const t = p.a.tcp.counters;
    expect(p.la.dropped).toBe(3);
    expect(t.retransSegs).toBeGreaterThan(0);
    // Bytes per frame a sent (data and ACKs alike, ACKs being few): without deferral ~2.5 KB.
    const frames = p.a.counters.txFrames;
    expect(data.length / frames).toBeGreaterThan(16_000);
  });
});
