// Two stacks over an in-memory NetIf pair on a virtual clock, with optional frame loss.
import { createHash } from 'node:crypto';
import type { Mbuf } from '../../src/mbuf/index.ts';
import {
  createNetIfPair,
  type MemNetIf,
  type DeliverFn,
  type NetIf,
  type NetIfEvents,
  type NetIfPairOptions,
} from '../../src/netif/index.ts';
import {
  IpPairScratch,
  Stack,
  VirtualClock,
  type StackOptions,
  type TcbOptions,
} from '../../src/stack/index.ts';
import { in4 } from '../../src/wire/index.ts';

/** Wraps a NetIf and drops every `n`th transmitted frame (after `skip` frames), or frames `drop` picks. */
export class LossyNetIf implements NetIf {
  sent = 0;
  dropped = 0;
  every = 0;
  skip = 0;
  drop: ((m: Mbuf, i: number) => boolean) | null = null;
  constructor(readonly inner: NetIf) {}
  get name(): string {
    return this.inner.name;
  }
  get mac(): Uint8Array {
    return this.inner.mac;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get offloads() {
    return this.inner.offloads;
  }
  /** Probabilities for duplication, reordering (hold one frame back) and a flipped byte. */
  dupRate = 0;
  reorderRate = 0;
  corruptRate = 0;
  rnd: () => number = Math.random;
  duplicated = 0;
  reordered = 0;
  corrupted = 0;
  held: Mbuf | null = null;
  /** A held-back (reordered) frame stays held: it goes out behind the next transmit, as before. */
  flush(): void {
    this.inner.flush();
  }
  transmit(m: Mbuf, more?: boolean) {
    const i = this.sent++;
    if (
      (this.every > 0 && i >= this.skip && (i - this.skip) % this.every === this.every - 1) ||
      this.drop?.(m, i)
    ) {
      this.dropped++;
      m.free();
      return 'ok' as const;
    }
    if (i > 3 && this.corruptRate > 0 && this.rnd() < this.corruptRate) {
      const at = 14 + Math.floor(this.rnd() * (m.length - 14));
      m.setU8(at, m.getU8(at) ^ 0x5a);
      this.corrupted++;
    }
    if (i > 3 && this.dupRate > 0 && this.rnd() < this.dupRate) {
      const copy = m.pool.alloc();
      if (copy !== null) {
        const tmp = new Uint8Array(m.length);
        m.copyTo(tmp);
        copy.append(tmp);
        this.duplicated++;
        // more = false: the original may be held back below, and a pending notification would
        // then never be raised.
        this.inner.transmit(copy, false);
      }
    }
    if (i > 3 && this.held === null && this.reorderRate > 0 && this.rnd() < this.reorderRate) {
      this.held = m;
      this.reordered++;
      return 'ok' as const;
    }
    const r = this.inner.transmit(m, this.held !== null || more);
    if (this.held !== null) {
      const h = this.held;
      this.held = null;
      this.inner.transmit(h, more);
    }
    return r;
  }
  /** Releases a held-back frame (when the sender went quiet). */
  releaseHeld(): void {
    if (this.held === null) return;
    const h = this.held;
    this.held = null;
    this.inner.transmit(h, false);
  }
  poll(budget: number, deliver: DeliverFn): number {
    return this.inner.poll(budget, deliver);
  }
  setEvents(e: NetIfEvents | null): void {
    this.inner.setEvents(e);
  }
}

export interface Pair {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  la: LossyNetIf;
  lb: LossyNetIf;
}

export function makePair(
  opts: { pair?: NetIfPairOptions; a?: Partial<StackOptions>; b?: Partial<StackOptions> } = {},
): Pair {
  const clock = new VirtualClock(1000);
  const { a, b } = createNetIfPair(opts.pair);
  const la = new LossyNetIf(a);
  const lb = new LossyNetIf(b);
  const key = new Uint8Array(32).fill(1);
  const A = new Stack({ netif: la, ipv4: '10.0.0.1/24', time: clock, isnKey: key, ...opts.a });
  const B = new Stack({
    netif: lb,
    ipv4: '10.0.0.2/24',
    time: clock,
    isnKey: key.map((x) => x + 1),
    ...opts.b,
  });
  return { clock, a: A, b: B, la, lb };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Runs the event loop and the virtual clock until cond() holds: drains pending work, then moves
 * time to the next timer deadline (at most `step` ms at once). Returns the virtual ms elapsed.
 */
export async function runUntil(
  p: Pair,
  cond: () => boolean,
  limitMs = 600_000,
  step = 1000,
): Promise<number> {
  const { clock } = p;
  const start = clock.now();
  const busy = (): boolean => (p.la.inner as MemNetIf).rxQueued > 0 || (p.lb.inner as MemNetIf).rxQueued > 0;
  for (;;) {
    await tick();
    await tick();
    if (cond()) return clock.now() - start;
    // Time moves only while the wire is idle, so processing never looks like delay.
    if (busy()) continue;
    if (p.la.held !== null || p.lb.held !== null) {
      p.la.releaseHeld();
      p.lb.releaseHeld();
      continue;
    }
    if (clock.now() - start > limitMs) throw new Error(`condition not met after ${limitMs} virtual ms`);
    const d = clock.timers.nextDeadline();
    clock.advance(d === Infinity ? step : Math.min(step, Math.max(0, d - clock.now())));
  }
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deterministic pseudo-random bytes. */
export function randomBytesSeeded(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** An IPv4 address pair as the stack's IpPair: `l` ours, `r` the peer's. */
export function pair4(l: number, r: number): IpPairScratch {
  const p = new IpPairScratch();
  p.laddr = in4(l);
  p.raddr = in4(r);
  return p;
}

/** A server on b:5001 that keeps what it receives; done once the peer ended. */
export function sink(p: Pair, opts: TcbOptions = {}): { bytes: () => Buffer; done: () => boolean } {
  const got: Buffer[] = [];
  let ended = false;
  p.b.net
    .createServer((s) => {
      s.on('data', (d: Buffer) => got.push(Buffer.from(d)));
      s.on('end', () => (ended = true));
    }, opts)
    .listen(5001);
  return { bytes: () => Buffer.concat(got), done: () => ended };
}
