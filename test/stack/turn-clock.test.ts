// The clock read once per turn (TimerQueue.now, tcp_mstamp_refresh): one value inside a turn,
// fresh outside, never backwards; and over two stacks, RTT samples stay positive while each frame
// and each write reads the clock once.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Stack, TimerQueue, type Clock, type Socket, type TimerHost } from '../../src/stack/index.ts';
import { createNetIfPair } from '../../src/netif/index.ts';

/** A clock that moves `step` ms at every read and counts its reads. */
class SteppingClock implements Clock {
  reads = 0;
  constructor(
    private t: number,
    private readonly step: number,
  ) {}
  now(): number {
    this.reads++;
    this.t += this.step;
    return this.t;
  }
}

describe('TimerQueue.now: one clock read per turn', () => {
  it('a turn reads once, lazily; reads never go backwards; after the outermost turn the clock is read again', () => {
    type Op = 'enter' | 'leave' | 'now';
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Op>('enter', 'leave', 'now'), { maxLength: 80 }), (ops) => {
        const clk = new SteppingClock(100, 0.5);
        const q = new TimerQueue(clk);
        let depth = 0;
        let last = -Infinity;
        let turnValue: number | null = null;
        let expectedReads = 0;
        for (const op of ops) {
          if (op === 'enter') {
            q.enterTurn();
            depth++;
          } else if (op === 'leave') {
            if (depth === 0) continue;
            q.leaveTurn();
            if (--depth === 0) turnValue = null;
          } else {
            const v = q.now();
            expect(v).toBeGreaterThanOrEqual(last);
            if (depth === 0) {
              expectedReads++;
              expect(v).toBeGreaterThan(last); // fresh: the stepping clock moved
            } else if (turnValue === null) {
              expectedReads++;
              expect(v).toBeGreaterThan(last); // the turn's first read is fresh too
              turnValue = v;
            } else {
              expect(v).toBe(turnValue); // the rest of the turn shares it
            }
            last = v;
          }
        }
        expect(clk.reads).toBe(expectedReads);
      }),
    );
  });

  it('a timer armed in a turn is due its delay after the turn time, and fires at that deadline', () => {
    const clk = new SteppingClock(1000, 1);
    const q = new TimerQueue(clk);
    const fired: number[] = [];
    const t = q.timer((now) => fired.push(now));
    q.enterTurn();
    const at = q.now();
    t.arm(200);
    expect(q.now()).toBe(at);
    q.leaveTurn();
    expect(t.deadline).toBe(at + 200);
    q.run(at + 199);
    expect(fired).toEqual([]);
    q.run(at + 200);
    expect(fired).toEqual([at + 200]);
  });
});

describe('two stacks on a clock that moves at every read', () => {
  function pair(): { clk: SteppingClock; a: Stack; b: Stack } {
    const clk = new SteppingClock(5000, 0.25);
    const time = (): TimerHost => ({ timers: new TimerQueue(clk) });
    const { a: na, b: nb } = createNetIfPair();
    const key = new Uint8Array(32).fill(7);
    const a = new Stack({ netif: na, ipv4: '10.0.0.1/24', time: time(), isnKey: key });
    const b = new Stack({ netif: nb, ipv4: '10.0.0.2/24', time: time(), isnKey: key.map((x) => x ^ 1) });
    return { clk, a, b };
  }
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !cond(); i++) await tick();
    expect(cond()).toBe(true);
  }

  it('1-byte request/response: RTT samples positive, a few clock reads per transaction', async () => {
    const { clk, a, b } = pair();
    b.net
      .createServer((s: Socket) => {
        s.setNoDelay(true);
        s.on('data', (d: Buffer) => s.write(d));
      })
      .listen(7);
    const c = a.net.connect({ host: '10.0.0.2', port: 7 });
    c.setNoDelay(true);
    let connected = false;
    c.once('connect', () => (connected = true));
    await until(() => connected);
    let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    const ONE = Buffer.from([1]);
    const N = 50;
    // Warm: ARP is resolved by the handshake; the first transaction settles the windows.
    c.write(ONE);
    await until(() => got === 1);
    const reads0 = clk.reads;
    for (let i = 0; i < N; i++) {
      c.write(ONE);
      await until(() => got === i + 2);
    }
    // Per transaction: each side's received frame (one turn) and write (one turn). Before the
    // turn clock it was 16.
    expect((clk.reads - reads0) / N).toBeLessThanOrEqual(4.5);
    const rto = c.tcb!.rto;
    expect(rto.samples).toBeGreaterThan(N / 2);
    // The write's turn read the clock before the reply's turn did, and the clock moved a quarter
    // ms per read: timestamps (ms ticks) see a round trip of a few ms, never ≤ 0 nor a stale one
    // spanning more than the transaction's own reads.
    expect(rto.srtt).toBeGreaterThan(0);
    expect(rto.srtt).toBeLessThanOrEqual(((clk.reads - reads0) / N) * 0.25 + 1);
    c.destroy();
  });

  it('ping: the reply time is after the send time', async () => {
    const { a } = pair();
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) rtts.push(await a.ping('10.0.0.2'));
    for (const r of rtts) expect(r).toBeGreaterThan(0);
  });
});
