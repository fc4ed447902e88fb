import { describe, expect, it } from 'vitest';
import type { MemNetIf } from '../../src/netif/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';

const ALL = { txCsum: true, rxCsum: true, tso4: true, rxGso: true };

async function stream(p: Pair, bytes: Buffer): Promise<Buffer> {
  const got: Buffer[] = [];
  let done = false;
  p.b.net
    .createServer((s) => {
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => (done = true));
    })
    .listen(5001);
  const c = p.a.net.connect({ host: '10.0.0.2', port: 5001 });
  c.end(bytes);
  await runUntil(p, () => done, 3_600_000);
  return Buffer.concat(got);
}

describe('offloads', () => {
  it('TSO super-frames with NEEDS_CSUM: far fewer frames, same bytes', async () => {
    const p = makePair({ pair: { a: { offloads: ALL }, b: { offloads: ALL } } });
    const data = randomBytesSeeded(4 << 20, 11);
    const got = await stream(p, data);
    expect(sha256(got)).toBe(sha256(data));
    const tx = (p.la.inner as MemNetIf).txPackets;
    // Without TSO 4 MiB needs ~2900 data frames of 1448 bytes.
    expect(tx).toBeLessThan(600);
    expect((p.la.inner as MemNetIf).dropOffload).toBe(0);
    expect(p.b.tcp.counters.csumErrors).toBe(0);
  });

  it('checksum offload only: MSS-sized frames carrying NEEDS_CSUM are accepted unverified', async () => {
    const off = { txCsum: true, rxCsum: true };
    const p = makePair({ pair: { a: { offloads: off }, b: { offloads: off } } });
    const data = randomBytesSeeded(1 << 20, 12);
    expect(sha256(await stream(p, data))).toBe(sha256(data));
    expect((p.la.inner as MemNetIf).txPackets).toBeGreaterThan(700);
  });

  it('TSO under loss: retransmissions are MSS-sized and the data arrives intact', async () => {
    const p = makePair({ pair: { a: { offloads: ALL }, b: { offloads: ALL } } });
    p.la.every = 13;
    p.la.skip = 3;
    const data = randomBytesSeeded(2 << 20, 13);
    expect(sha256(await stream(p, data))).toBe(sha256(data));
    expect(p.a.tcp.counters.retransSegs).toBeGreaterThan(0);
  });
});
