// node's onread option: received bytes are copied into the application's buffer and handed to its
// callback, never emitted as 'data'; 'end' and 'close' come as usual, a callback returning false
// pauses the socket, resume() restarts it, and the receive buffer reuses its chunks (no view of
// them ever leaves the socket). An onread of another shape is ignored, as node ignores it.
import { describe, expect, it } from 'vitest';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import type { NetError, Socket } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil, type Pair } from './harness.ts';

/** Bytes that are not periodic, so a piece delivered at the wrong place would show. */
const stream = (n: number): Buffer => randomBytesSeeded(n, 7);

describe('socket onread', () => {
  // A buffer size that is no divisor of the 64 KiB chunks: reads cross chunk boundaries.
  it('delivers every byte in order into one reused buffer, then end and close', async () => {
    const p = makePair();
    const data = stream(3 << 20);
    const buf = Buffer.alloc(10_007);
    const out = Buffer.alloc(data.length);
    let got = 0;
    let calls = 0;
    let sameBuffer = true;
    let dataEvents = 0;
    let ended = false;
    let closed = false;
    p.b.net.createServer((s) => s.end(data)).listen(80);
    const c = p.a.net.connect({
      host: '10.0.0.2',
      port: 80,
      onread: {
        buffer: buf,
        callback: (n, b) => {
          sameBuffer &&= b === buf;
          out.set(b.subarray(0, n), got);
          got += n;
          calls++;
        },
      },
    });
    c.on('data', () => dataEvents++);
    c.on('end', () => {
      ended = true;
      c.end();
    });
    c.on('close', () => (closed = true));
    await runUntil(p, () => ended && closed);
    expect(got).toBe(data.length);
    expect(out.equals(data)).toBe(true);
    expect(sameBuffer).toBe(true);
    expect(calls).toBeGreaterThanOrEqual(Math.ceil(data.length / buf.length));
    expect(dataEvents).toBe(0);
    expect(c.bytesRead).toBe(data.length);
  });

  it('reuses the receive buffer chunks where a data socket takes a new one per 64 KiB', async () => {
    const chunks = async (onread: boolean): Promise<number> => {
      const p = makePair();
      const data = stream(4 << 20);
      const buf = Buffer.alloc(65_536);
      let got = 0;
      p.b.net.createServer((s) => s.end(data)).listen(80);
      const c = p.a.net.connect({
        host: '10.0.0.2',
        port: 80,
        ...(onread ? { onread: { buffer: buf, callback: (n: number) => void (got += n) } } : {}),
      });
      if (!onread) c.on('data', (b: Buffer) => (got += b.length));
      await runUntil(p, () => got === data.length);
      return c.tcb!.rcv.chunksAllocated;
    };
    const reused = await chunks(true);
    const fresh = await chunks(false);
    expect(fresh).toBeGreaterThanOrEqual(64);
    // The window's worth of chunks at most (1 MiB in 64 KiB chunks, and the spare).
    expect(reused).toBeLessThanOrEqual(18);
  });

  // Once the first read is delivered, a fixed buffer is lent to the receive buffer while the
  // socket waits: in-order bytes land in it directly (Linux's ucopy), one copy instead of two. A
  // buffer function is asked at each read, as node does, and is not lent: its bytes go through the
  // receive buffer.
  it('copies each byte into the application buffer once, a fixed buffer straight from the frame', async () => {
    const counts = async (buffer: Uint8Array | (() => Uint8Array)): Promise<[number, number, number]> => {
      const p = makePair();
      const data = stream(300_000);
      let got = 0;
      p.b.net.createServer((s) => s.end(data)).listen(80);
      resetCopyCounts();
      p.a.net.connect({ host: '10.0.0.2', port: 80, onread: { buffer, callback: (n) => void (got += n) } });
      await runUntil(p, () => got === data.length);
      return [copyBytes[COPY_SITE.rcvbufOut]!, copyBytes[COPY_SITE.rcvbufIn]!, data.length];
    };
    const [outFixed, inFixed, total] = await counts(Buffer.alloc(4096));
    expect(outFixed).toBe(total);
    expect(inFixed).toBeLessThan(total / 10);
    let asked = 0;
    const [outFn, inFn] = await counts(() => (asked++, Buffer.alloc(4096)));
    expect(outFn).toBe(total);
    expect(inFn).toBe(total);
    expect(asked).toBeGreaterThanOrEqual(Math.ceil(total / 4096));
  });

  /**
   * `n` onread sockets, each to its own server connection held open; `send(bytes)` makes every
   * server write them, and resolves once each socket has them all. Counts what each received.
   */
  async function heldOpen(
    p: Pair,
    buffers: Uint8Array[],
  ): Promise<{ send: (b: Buffer) => Promise<void>; got: Buffer[] }> {
    const peers: Socket[] = [];
    p.b.net.createServer((s) => void peers.push(s)).listen(80);
    const got = buffers.map(() => Buffer.alloc(0));
    buffers.forEach((buffer, i) =>
      p.a.net.connect({
        host: '10.0.0.2',
        port: 80,
        onread: { buffer, callback: (n, b) => void (got[i] = Buffer.concat([got[i]!, b.subarray(0, n)])) },
      }),
    );
    await runUntil(p, () => peers.length === buffers.length);
    let want = 0;
    const send = async (b: Buffer): Promise<void> => {
      want += b.length;
      for (const s of peers) s.write(b);
      await runUntil(p, () => got.every((g) => g.length === want));
    };
    return { send, got };
  }

  // node lets sockets share one onread buffer (each read is delivered before the next is made):
  // a buffer lent to one socket's receive buffer is not lent to another's at the same time.
  it('two sockets sharing one buffer: one holds the loan, the other reads through its receive buffer', async () => {
    const p = makePair();
    const shared = Buffer.alloc(16_384);
    const { send, got } = await heldOpen(p, [shared, shared]);
    const first = stream(1000);
    await send(first);
    resetCopyCounts();
    const second = Buffer.from(stream(1000).map((x) => x ^ 0x5a));
    await send(second);
    expect(copyBytes[COPY_SITE.rcvbufOut]).toBe(2000);
    // Without the loan table both would hold it and this would be 0.
    expect(copyBytes[COPY_SITE.rcvbufIn]).toBe(1000);
    for (const g of got) expect(g.equals(Buffer.concat([first, second]))).toBe(true);
  });

  // Loans are kept per buffer, not in a table of the thread: a stack dropped while its sockets
  // hold loans (no close) takes nothing from the sockets that come after (the first version's
  // 64-entry table did, for good).
  it('seventy sockets hold loans at once, and loans left behind by a dropped stack block nobody', async () => {
    for (let round = 0; round < 2; round++) {
      const p = makePair();
      const { send, got } = await heldOpen(
        p,
        Array.from({ length: 70 }, () => Buffer.alloc(20_000)),
      );
      const first = stream(1000);
      await send(first);
      resetCopyCounts();
      const second = stream(1500).subarray(500);
      await send(second);
      expect(copyBytes[COPY_SITE.rcvbufOut]).toBe(70 * 1000);
      expect(copyBytes[COPY_SITE.rcvbufIn]).toBe(0);
      for (const g of got) expect(g.equals(Buffer.concat([first, second]))).toBe(true);
      // The pair is dropped here with its 70 loans outstanding.
    }
  });

  // Loss, reordering and duplicates: holes are filled from the out-of-order queue, so bytes come
  // both straight and through the receive buffer, and must still come in order.
  it('keeps the stream in order through loss, reordering and duplication', async () => {
    const p = makePair();
    p.lb.every = 13;
    p.lb.skip = 20;
    p.lb.reorderRate = 0.05;
    p.lb.dupRate = 0.02;
    let x = 12345;
    p.lb.rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const data = stream(2 << 20);
    const out = Buffer.alloc(data.length);
    let got = 0;
    p.b.net.createServer((s) => s.end(data)).listen(80);
    p.a.net.connect({
      host: '10.0.0.2',
      port: 80,
      onread: {
        buffer: Buffer.alloc(32_768),
        callback: (n, b) => {
          out.set(b.subarray(0, n), got);
          got += n;
        },
      },
    });
    await runUntil(p, () => got === data.length);
    expect(p.lb.dropped).toBeGreaterThan(10);
    expect(p.lb.reordered).toBeGreaterThan(10);
    expect(out.equals(data)).toBe(true);
  });

  it('a callback returning false stops the reads until resume(); the window closes meanwhile', async () => {
    const p = makePair();
    const data = stream(4 << 20);
    const out = Buffer.alloc(data.length);
    let got = 0;
    let paused = 0;
    let stopAt = 100_000;
    p.b.net.createServer((s) => s.end(data)).listen(80);
    let c: Socket | null = null;
    c = p.a.net.connect({
      host: '10.0.0.2',
      port: 80,
      onread: {
        buffer: () => Buffer.alloc(8192),
        callback: (n, b) => {
          out.set(b.subarray(0, n), got);
          got += n;
          if (got >= stopAt) {
            stopAt = Number.POSITIVE_INFINITY;
            paused++;
            return false;
          }
          return true;
        },
      },
    });
    await runUntil(p, () => paused === 1);
    const atPause = got;
    // As node: the reads stop, the stream is not paused.
    expect(c.isPaused()).toBe(false);
    // The peer goes on sending until the receive buffer (1 MiB by default here or less) is full;
    // nothing more reaches the callback.
    const t0 = p.clock.now();
    await runUntil(p, () => p.clock.now() - t0 >= 2000);
    expect(got).toBe(atPause);
    expect(c.tcb!.rcv.readable).toBeGreaterThan(0);
    expect(got + c.tcb!.rcv.readable).toBeLessThan(data.length);
    let ended = false;
    c.on('end', () => (ended = true));
    c.resume();
    await runUntil(p, () => ended);
    expect(got).toBe(data.length);
    expect(out.equals(data)).toBe(true);
  });

  // node keeps onread only with its shape and ignores anything else (net.Socket's constructor):
  // such a socket emits 'data' as any other.
  it('ignores an onread of another shape, as node does', async () => {
    const bad: unknown[] = [
      null,
      5,
      {},
      { buffer: 'x', callback: () => true },
      { buffer: Buffer.alloc(8) },
      { buffer: Buffer.alloc(8), callback: 3 },
    ];
    for (const onread of bad) {
      const p = makePair();
      p.b.net.createServer((s) => s.end(Buffer.alloc(1000, 1))).listen(80);
      const c = p.a.net.connect({ host: '10.0.0.2', port: 80, onread } as never);
      let got = 0;
      c.on('data', (b: Buffer) => (got += b.length));
      await runUntil(p, () => got === 1000);
      expect(c.tcb!.rcv.recycleChunks).toBe(false);
    }
  });

  it('an empty buffer, or a buffer function returning one, destroys the socket at its first read', async () => {
    for (const buffer of [new Uint8Array(0), () => new Uint8Array(0), () => 'x' as unknown as Uint8Array]) {
      const p = makePair();
      // The destroyed client resets the connection: the server's socket sees ECONNRESET.
      let reset: unknown = null;
      p.b.net
        .createServer((s) => {
          s.on('error', (e) => (reset = e));
          s.end(Buffer.alloc(1000, 1));
        })
        .listen(80);
      const c = p.a.net.connect({ host: '10.0.0.2', port: 80, onread: { buffer, callback: () => true } });
      let err: unknown = null;
      c.on('error', (e) => (err = e));
      await runUntil(p, () => err !== null);
      expect((err as NetError).code).toBe('ERR_INVALID_ARG_TYPE');
      expect(c.destroyed).toBe(true);
      await runUntil(p, () => reset !== null);
      expect((reset as NetError).code).toBe('ECONNRESET');
    }
  });

  it('createServer takes onread for the sockets it accepts, the callback called on each socket', async () => {
    const p = makePair();
    const data = stream(500_000);
    const buf = Buffer.alloc(3000);
    const sums = new Map<Socket, { got: number; sum: number }>();
    p.b.net
      .createServer({
        onread: {
          buffer: buf,
          callback(this: Socket, n, b) {
            const r = sums.get(this) ?? { got: 0, sum: 0 };
            sums.set(this, r);
            r.got += n;
            for (let i = 0; i < n; i++) r.sum = (r.sum + b[i]!) | 0;
          },
        },
      })
      .listen(80);
    p.a.net.connect({ host: '10.0.0.2', port: 80 }).end(data);
    p.a.net.connect({ host: '10.0.0.2', port: 80 }).end(data.subarray(0, 200_000));
    const done = (): boolean => [...sums.values()].reduce((x, r) => x + r.got, 0) === 700_000;
    await runUntil(p, done);
    let want = 0;
    for (const x of data) want = (want + x) | 0;
    let want2 = 0;
    for (const x of data.subarray(0, 200_000)) want2 = (want2 + x) | 0;
    const rs = [...sums.values()].sort((x, y) => y.got - x.got);
    expect(rs.map((r) => r.got)).toEqual([500_000, 200_000]);
    expect(rs.map((r) => r.sum)).toEqual([want, want2]);
  });
});
