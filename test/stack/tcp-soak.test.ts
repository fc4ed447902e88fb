// The integrity bar on the in-memory pair: 32 MiB each way under mixed impairment,
// with a SHA-256 match and counters showing SACK recovery did the work.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makePair, randomBytesSeeded, runUntil, sha256 } from './harness.ts';

describe('soak', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['1 % loss, 1 % duplication, 1 % reordering', 0.01, 0.01, 0.01, 0, 32],
    ['5 % loss, 1 % corruption', 0.05, 0, 0, 0.01, 32],
    ['20 % loss', 0.2, 0, 0, 0, 32],
  ] as const)(
    '%s: MiB both ways intact',
    async (_name, loss, dup, reorder, corrupt, mib) => {
      const p = makePair({
        a: { tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } },
        b: { tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } },
      });
      let x = 4242;
      const rnd = (): number => {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        return x / 0x80000000;
      };
      // Neighbour reachable-time jitter and ephemeral ports come from Math.random; left unseeded
      // they shift how many frames cross the pair, hence which ones `rnd` drops, and a run would
      // not replay. Seeded, every run of this test is the same run.
      let y = 777;
      vi.spyOn(Math, 'random').mockImplementation(() => {
        y = (y * 1103515245 + 12345) & 0x7fffffff;
        return y / 0x80000000;
      });
      for (const l of [p.la, p.lb]) {
        l.rnd = rnd;
        l.drop = (_m, i) => i > 3 && rnd() < loss;
        l.dupRate = dup;
        l.reorderRate = reorder;
        l.corruptRate = corrupt;
      }
      const up = randomBytesSeeded(mib << 20, 1);
      const down = randomBytesSeeded(mib << 20, 2);
      const atServer: Buffer[] = [];
      const atClient: Buffer[] = [];
      let serverDone = false;
      let clientDone = false;
      p.b.net
        .createServer((s) => {
          s.on('data', (d: Buffer) => atServer.push(d));
          s.on('end', () => (serverDone = true));
          s.end(down);
        })
        .listen(5001);
      const c = p.a.net.connect({ host: '10.0.0.2', port: 5001 });
      c.on('data', (d: Buffer) => atClient.push(d));
      c.on('end', () => (clientDone = true));
      c.end(up);
      await runUntil(p, () => serverDone && clientDone, 3_600_000);
      expect(sha256(Buffer.concat(atServer))).toBe(sha256(up));
      expect(sha256(Buffer.concat(atClient))).toBe(sha256(down));
      const ca = p.a.tcp.counters;
      const cb = p.b.tcp.counters;
      expect(ca.sackRecovery).toBeGreaterThan(0);
      expect(cb.sackRecovery).toBeGreaterThan(0);
      if (loss < 0.1) expect(ca.fastRetrans + cb.fastRetrans).toBeGreaterThan(ca.timeouts + cb.timeouts);
    },
    60_000,
  );
});
