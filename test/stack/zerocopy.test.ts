// Zero-copy writes (setZeroCopy, Linux's MSG_ZEROCOPY): the stack holds the caller's Buffer until
// its bytes are acknowledged, and says so with a 'zerocopy' completion. The tests spoil each
// Buffer the moment its completion arrives: a reference kept past it would put the spoiled bytes
// on the wire (a retransmission, or a send not made yet), and the receiver's hash would differ.
import { describe, expect, it } from 'vitest';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import { ZEROCOPY_MIN, type Socket } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256, sink, type Pair } from './harness.ts';

const ALL = { txCsum: true, rxCsum: true, tso4: true, rxGso: true };
const NONE = { txCsum: false, rxCsum: false, tso4: false, rxGso: false };

/** Records completions in order and spoils each completed write's Buffer at once. */
function completions(c: Socket, bufs: Buffer[]): { ids: number[]; copied: boolean[] } {
  const ids: number[] = [];
  const copied: boolean[] = [];
  c.on('zerocopy', (lo: number, hi: number, wasCopied: boolean) => {
    expect(lo).toBe(ids.length);
    expect(hi).toBeGreaterThanOrEqual(lo);
    for (let id = lo; id <= hi; id++) {
      ids.push(id);
      copied.push(wasCopied);
      bufs[id]!.fill(0xee);
    }
  });
  return { ids, copied };
}

async function connected(p: Pair, opts: object = {}): Promise<Socket> {
  const c = p.a.net.connect({ host: '10.0.0.2', port: 5001, ...opts });
  let up = false;
  c.once('connect', () => (up = true));
  await runUntil(p, () => up);
  return c.setZeroCopy();
}

describe('zero-copy writes (MSG_ZEROCOPY)', () => {
  for (const [name, offloads] of [
    ['TSO and checksum offload', ALL],
    ['software segments and checksums', NONE],
  ] as const) {
    it(`${name}, every 20th frame lost: intact, completions in order, none before its ACK`, async () => {
      const p = makePair({ pair: { a: { offloads }, b: { offloads } } });
      p.la.every = 20;
      p.la.skip = 3;
      const s = sink(p);
      const c = await connected(p);
      // Writes of every size around ZEROCOPY_MIN and up to a few TSO frames.
      const sizes = Array.from(
        { length: 60 },
        (_, i) => [100, ZEROCOPY_MIN - 1, ZEROCOPY_MIN, 9000, 70000][i % 5]!,
      );
      const bufs = sizes.map((n, i) => randomBytesSeeded(n, i + 1));
      const want = sha256(Buffer.concat(bufs));
      const done = completions(c, bufs);
      resetCopyCounts();
      for (const b of bufs) c.write(b);
      c.end();
      await runUntil(p, () => s.done() && done.ids.length === bufs.length, 3_600_000);
      expect(sha256(s.bytes())).toBe(want);
      expect(p.la.dropped).toBeGreaterThan(5);
      expect(p.a.tcp.counters.retransSegs).toBeGreaterThan(0);
      expect(done.copied).toEqual(sizes.map((n) => n < ZEROCOPY_MIN));
      // Only the short writes went through the send ring.
      const short = sizes.filter((n) => n < ZEROCOPY_MIN).reduce((a, n) => a + n, 0);
      expect(copyBytes[COPY_SITE.sndbufIn]).toBe(short);
    });
  }

  it('destroy() with bytes unacknowledged: every write completes before close, the orphan still sends the original bytes', async () => {
    const p = makePair({ pair: { a: { offloads: ALL }, b: { offloads: ALL } } });
    const s = sink(p);
    const c = await connected(p, { sndBuf: 1 << 20 });
    const bufs = [randomBytesSeeded(300_000, 7), randomBytesSeeded(200_000, 8)];
    const want = sha256(Buffer.concat(bufs));
    const done = completions(c, bufs);
    let closedAfter = -1;
    c.on('close', () => (closedAfter = done.ids.length));
    for (const b of bufs) c.write(b);
    c.destroy();
    // Completed at destroy, before the bytes could have been acknowledged, and spoiled there.
    expect(done.ids).toEqual([0, 1]);
    expect(c.tcb!.snd.referenced).toBe(0);
    await runUntil(p, () => s.done() && closedAfter >= 0);
    expect(closedAfter).toBe(2);
    expect(sha256(s.bytes())).toBe(want);
  });

  it('a reset with writes held: the accepted one completes before close, the one never accepted gives its id back', async () => {
    const p = makePair();
    p.b.net.createServer((s) => s.resetAndDestroy()).listen(5001);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 5001, sndBuf: 65536 });
    const seen: [number, number][] = [];
    let closedAfter = -1;
    let writeErr: string | undefined;
    c.on('zerocopy', (lo: number, hi: number) => seen.push([lo, hi]));
    c.on('error', () => {});
    c.on('close', () => (closedAfter = seen.length));
    await new Promise<void>((res) => c.once('connect', res).setZeroCopy());
    // Fills the send buffer exactly (nothing can be acknowledged before the reset arrives)...
    c.write(randomBytesSeeded(65536, 1));
    // ...so this one waits, with nothing of it accepted.
    c.write(randomBytesSeeded(100_000, 2), (e) => (writeErr = (e as NodeJS.ErrnoException | null)?.code));
    await runUntil(p, () => closedAfter >= 0);
    expect(seen).toEqual([[0, 0]]);
    expect(closedAfter).toBe(1);
    expect(writeErr).toBeDefined();
    expect(c.tcb!.snd.referenced).toBe(0);
  });

  it('ids count writes from 0; writes after setZeroCopy(false) are copied and get none', async () => {
    const p = makePair();
    const s = sink(p);
    const c = await connected(p);
    const seen: [number, number, boolean][] = [];
    c.on('zerocopy', (lo: number, hi: number, cp: boolean) => seen.push([lo, hi, cp]));
    c.write(randomBytesSeeded(5000, 1));
    c.write(randomBytesSeeded(6000, 2));
    c.setZeroCopy(false);
    resetCopyCounts();
    c.write(randomBytesSeeded(7000, 3));
    expect(copyBytes[COPY_SITE.sndbufIn]).toBe(7000);
    c.end();
    await runUntil(p, () => s.done());
    // One event per run of completed ids: however the ACKs fell, ids 0 and 1 exactly once.
    const ids = seen.flatMap(([lo, hi]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
    expect(ids).toEqual([0, 1]);
    expect(seen.every(([, , cp]) => !cp)).toBe(true);
    expect(s.bytes().length).toBe(18000);
  });
});
