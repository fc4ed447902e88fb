import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reassembler, VirtualClock, type ReasmQueue, type Stack } from '../../src/stack/index.ts';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';
import { in4, parseIpv6, pseudoSum } from '../../src/wire/index.ts';
import { A6, B6, concat, fragNeeded4, frame6, inject, pair6, udp } from './ip-frames.ts';
import { makePair, randomBytesSeeded, runUntil, type Pair } from './harness.ts';

function engine(params = {}) {
  const clock = new VirtualClock(0);
  const expired: ReasmQueue[] = [];
  const r = new Reassembler(clock.timers, (q) => expired.push(q), params);
  return { clock, r, expired };
}

/** Adds payload[off, off+len) as one fragment of datagram `key`. */
function add(r: Reassembler, key: string, payload: Uint8Array, off: number, len: number, more: boolean) {
  const hdr = new Uint8Array(20 + len);
  hdr.set(payload.subarray(off, off + len), 20);
  return r.add(key, 17, off, more, hdr, 20, len, 0, 20, 28);
}

describe('reassembly engine', () => {
  it('rebuilds any datagram from fragments in any order, duplicates dropped alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 - 20 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer(),
        fc.array(fc.nat(), { maxLength: 5 }),
        (size, k, seed, dups) => {
          const step = 8 * k;
          const payload = randomBytesSeeded(size, seed);
          const frags: [number, number][] = [];
          for (let o = 0; o < size; o += step) frags.push([o, Math.min(step, size - o)]);
          // Seeded Fisher-Yates.
          let x = seed >>> 0 || 1;
          for (let i = frags.length - 1; i > 0; i--) {
            x = (x * 1103515245 + 12345) >>> 0;
            const j = x % (i + 1);
            [frags[i], frags[j]] = [frags[j]!, frags[i]!];
          }
          const { r } = engine({ maxFragments: 10000 });
          let complete = 0;
          let dupSent = 0;
          frags.forEach(([o, n], i) => {
            const res = add(r, 'k', payload, o, n, o + n < size);
            if (res === 'complete') {
              complete++;
              expect(i).toBe(frags.length - 1);
            }
            if (i < frags.length - 1 && dups.includes(i)) {
              dupSent++;
              expect(add(r, 'k', payload, o, n, o + n < size)).toBe('dropped');
            }
          });
          expect(complete).toBe(1);
          const q = r.done!;
          expect(q.total).toBe(size);
          expect(Buffer.compare(Buffer.from(q.data.subarray(0, size)), payload)).toBe(0);
          r.release(q);
          expect(r.mem).toBe(0);
          expect(r.queueCount).toBe(0);
          expect(r.counters.duplicates).toBe(dupSent);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('hostile fragment streams never throw, stay under the memory bound and drain on timeout', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b', 'c', 'd'),
            off: fc.integer({ min: 0, max: 70000 }),
            len: fc.integer({ min: 0, max: 3000 }),
            more: fc.boolean(),
            proto: fc.constantFrom(17, 17, 17, 6),
            dt: fc.integer({ min: 0, max: 5000 }),
          }),
          { maxLength: 200 },
        ),
        (frags) => {
          const { clock, r } = engine({ highThresh: 64 * 1024, maxQueues: 3, maxFragments: 50 });
          const payload = new Uint8Array(3000);
          for (const f of frags) {
            clock.advance(f.dt);
            const off = f.off & ~7;
            const hdr = new Uint8Array(20 + f.len);
            hdr.set(payload.subarray(0, f.len), 20);
            const res = r.add(f.key, f.proto, off, f.more, hdr, 20, f.len, 0, 20, 28);
            if (res === 'complete') r.release(r.done!);
            expect(r.mem).toBeLessThanOrEqual(64 * 1024);
            expect(r.queueCount).toBeLessThanOrEqual(3);
          }
          clock.advance(30_000);
          expect(r.queueCount).toBe(0);
          expect(r.mem).toBe(0);
          const c = r.counters;
          expect(c.reqds).toBe(frags.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps the whole first header even when it is longer than the quote', () => {
    const { r } = engine();
    const pkt = new Uint8Array(2000).map((_, i) => i & 0xff);
    // Header 1700 bytes, quote 1224: the copy must still hold the header.
    expect(r.add('k', 17, 0, false, pkt, 1700, 300, 0, 1700, 1224)).toBe('complete');
    expect(r.done!.first!.length).toBe(1700);
    expect(r.done!.first![1699]).toBe(1699 & 0xff);
    r.release(r.done!);
  });

  it('kills a datagram on a partial overlap (RFC 5722 / Linux) and counts it', () => {
    const { r } = engine();
    const p = new Uint8Array(64);
    expect(add(r, 'k', p, 0, 16, true)).toBe('queued');
    expect(add(r, 'k', p, 8, 16, true)).toBe('dropped');
    expect(r.counters.overlaps).toBe(1);
    expect(r.counters.fails).toBe(1);
    expect(r.queueCount).toBe(0);
    expect(r.mem).toBe(0);
    // Overlap from the left of a later range.
    expect(add(r, 'k', p, 16, 16, true)).toBe('queued');
    expect(add(r, 'k', p, 8, 16, true)).toBe('dropped');
    expect(r.counters.overlaps).toBe(2);
  });

  it('drops bad framing: unaligned non-last, empty, past 64 KiB, disagreeing ends, data past the end', () => {
    const { r } = engine();
    const p = new Uint8Array(70000);
    expect(add(r, 'a', p, 0, 12, true)).toBe('dropped');
    expect(add(r, 'a', p, 0, 0, false)).toBe('dropped');
    expect(r.counters.badLength).toBe(2);
    expect(add(r, 'b', p, 65528, 16, false)).toBe('dropped');
    expect(r.counters.tooBig).toBe(1);
    expect(add(r, 'c', p, 0, 16, true)).toBe('queued');
    expect(add(r, 'c', p, 32, 8, false)).toBe('queued');
    expect(add(r, 'c', p, 40, 8, false)).toBe('dropped');
    expect(add(r, 'd', p, 32, 8, false)).toBe('queued');
    expect(add(r, 'd', p, 40, 8, true)).toBe('dropped');
    expect(r.counters.badTotal).toBe(2);
    expect(r.queueCount).toBe(0);
  });

  it('times out after the configured time and tells the owner whether the first fragment came', () => {
    const { clock, r, expired } = engine({ timeout: 30_000 });
    const p = new Uint8Array(64);
    add(r, 'with-first', p, 0, 16, true);
    add(r, 'without', p, 16, 16, true);
    clock.advance(29_999);
    expect(expired.length).toBe(0);
    clock.advance(1);
    expect(expired.map((q) => q.first !== null)).toEqual([true, false]);
    expect(r.counters.timeouts).toBe(2);
    expect(r.mem).toBe(0);
  });

  it('bounds global memory, queues and fragments per datagram', () => {
    const { r } = engine({ highThresh: 8192, maxQueues: 2, maxFragments: 3 });
    const p = new Uint8Array(65535);
    expect(add(r, 'a', p, 0, 8, true)).toBe('queued');
    // Growing a to 16 KiB would pass the 8 KiB bound.
    expect(add(r, 'a', p, 12000, 8, true)).toBe('dropped');
    expect(r.counters.memoryDrops).toBe(1);
    expect(add(r, 'b', p, 0, 8, true)).toBe('queued');
    expect(add(r, 'c', p, 0, 8, true)).toBe('dropped');
    expect(r.counters.memoryDrops).toBe(2);
    expect(add(r, 'a', p, 8, 8, true)).toBe('queued');
    expect(add(r, 'a', p, 16, 8, true)).toBe('queued');
    expect(add(r, 'a', p, 24, 8, true)).toBe('dropped');
    expect(r.counters.tooManyFragments).toBe(1);
    expect(r.mem).toBeLessThanOrEqual(8192);
  });
});

/** Captures what `from` transmits (not delivered), returning copies of the frames. */
function capture(p: Pair, side: 'a' | 'b'): Uint8Array[] {
  const out: Uint8Array[] = [];
  const l = side === 'a' ? p.la : p.lb;
  l.drop = (m) => {
    const c = new Uint8Array(m.length);
    m.copyTo(c);
    out.push(c);
    return true;
  };
  return out;
}

function shuffle<T>(a: T[], seed: number): T[] {
  let x = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function fixIpv4Csum(f: Uint8Array): void {
  f[24] = 0;
  f[25] = 0;
  const v = csumFinish(csumPartial(f, 14, 20));
  f[24] = v >> 8;
  f[25] = v & 0xff;
}

async function resolved(p: Pair, s: Stack, host: string): Promise<void> {
  let ok = false;
  s.ping(host).then(() => (ok = true));
  await runUntil(p, () => ok);
}

describe('IPv4 fragmentation and reassembly between stacks', () => {
  it('round-trips random sizes with fragments in random order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1473, max: 65507 }), fc.integer(), async (size, seed) => {
        const p = makePair();
        await resolved(p, p.a, '10.0.0.2');
        const got: Buffer[] = [];
        p.b.net
          .createSocket()
          .bind(7)
          .on('message', (m: Buffer) => got.push(m));
        const frames = capture(p, 'a');
        const data = randomBytesSeeded(size, seed);
        p.a.net.createSocket().send(data, 7, '10.0.0.2');
        await runUntil(p, () => frames.length > 0);
        expect(frames.length).toBe(Math.ceil((size + 8) / 1480));
        const rx0 = p.b.counters.ipInReceives;
        for (const f of shuffle(frames, seed)) inject(p.b, f);
        await runUntil(p, () => got.length === 1);
        expect(Buffer.compare(got[0]!, data)).toBe(0);
        // InReceives: once per fragment, not again for the reassembled datagram (ip_rcv).
        expect(p.b.counters.ipInReceives - rx0).toBe(frames.length);
        expect(p.b.ipv4.frag.reasm.counters.oks).toBe(1);
        expect(p.b.ipv4.frag.reasm.mem).toBe(0);
      }),
      { numRuns: 15 },
    );
  });

  it('fragments a broadcast datagram to the broadcast MAC without ARP', async () => {
    const p = makePair();
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const data = randomBytesSeeded(3000, 9);
    // SO_BROADCAST first: without it Linux (and node) refuse a broadcast destination with EACCES.
    const u = p.a.net.createSocket().bind();
    u.setBroadcast(true);
    u.send(data, 7, '10.0.0.255');
    await runUntil(p, () => got.length === 1);
    expect(Buffer.compare(got[0]!, data)).toBe(0);
    expect(p.a.counters.arpRequestsOut).toBe(0);
  });

  it('drops a datagram with an overlapping fragment and counts it', async () => {
    const p = makePair();
    await resolved(p, p.a, '10.0.0.2');
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const frames = capture(p, 'a');
    p.a.net.createSocket().send(new Uint8Array(4000), 7, '10.0.0.2');
    await runUntil(p, () => frames.length === 3);
    // Move the second fragment 8 bytes back: it now overlaps the first.
    const f = frames[1]!;
    const w = ((f[20]! << 8) | f[21]!) - 1;
    f[20] = w >> 8;
    f[21] = w & 0xff;
    fixIpv4Csum(f);
    for (const x of frames) inject(p.b, x);
    expect(p.b.ipv4.frag.reasm.counters.overlaps).toBe(1);
    expect(got.length).toBe(0);
    expect(p.b.ipv4.frag.reasm.queueCount).toBe(1); // the third fragment started a new queue
  });

  it('answers a reassembly timeout with ICMP time exceeded when the first fragment came', async () => {
    const p = makePair();
    await resolved(p, p.a, '10.0.0.2');
    p.b.net.createSocket().bind(7);
    let big = 0;
    // Lose the second fragment: the first came, the datagram can never complete.
    p.la.drop = (m) => m.length > 1000 && ++big === 2;
    p.a.net.createSocket().send(new Uint8Array(3000), 7, '10.0.0.2');
    await runUntil(p, () => p.a.ipv4.icmp.errors.counters.timeExceededIn === 1);
    expect(p.b.ipv4.frag.counters.timeExceededOut).toBe(1);
    expect(p.b.ipv4.frag.reasm.counters.timeouts).toBe(1);
    expect(p.b.ipv4.frag.reasm.mem).toBe(0);
    // A broadcast datagram that times out is not answered.
    let bigB = 0;
    p.la.drop = (m) => m.length > 1000 && ++bigB === 2;
    const u = p.a.net.createSocket().bind();
    u.setBroadcast(true);
    u.send(new Uint8Array(3000), 7, '10.0.0.255');
    await runUntil(p, () => p.b.ipv4.frag.reasm.counters.timeouts === 2);
    expect(p.b.ipv4.frag.counters.timeExceededOut).toBe(1);
  });
});

/** An IPv4 UDP fragment frame from A to B: header of `hl` bytes (NOP options), payload at `off`. */
function frag4(
  p: Pair,
  hl: number,
  ident: number,
  off: number,
  more: boolean,
  payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + hl + payload.length);
  f.set(p.b.netif.mac, 0);
  f.set(p.a.netif.mac, 6);
  f[12] = 8;
  const t = hl + payload.length;
  f.set(
    [
      0x40 | (hl >> 2),
      0,
      t >> 8,
      t & 255,
      ident >> 8,
      ident & 255,
      0,
      0,
      64,
      17,
      0,
      0,
      10,
      0,
      0,
      1,
      10,
      0,
      0,
      2,
    ],
    14,
  );
  f.fill(1, 34, 14 + hl);
  const w = (off >> 3) | (more ? 0x2000 : 0);
  f[20] = w >> 8;
  f[21] = w & 255;
  f.set(payload, 14 + hl);
  const v = csumFinish(csumPartial(f, 14, hl));
  f[24] = v >> 8;
  f[25] = v & 0xff;
  return f;
}

describe('IPv4 reassembly limits between stacks', () => {
  it('drops a datagram whose options push it past 65535 bytes, without an exception', async () => {
    const p = makePair();
    const step = 1400;
    const total = 65512;
    for (let o = 0; o < total; o += step) {
      const n = Math.min(step, total - o);
      inject(p.b, frag4(p, o === 0 ? 60 : 20, 77, o, o + n < total, new Uint8Array(n)));
    }
    expect(p.b.ipv4.frag.reasm.counters.oks).toBe(1);
    expect(p.b.ipv4.frag.counters.reasmOversize).toBe(1);
    expect(p.b.counters.rxExceptions).toBe(0);
    expect(p.b.ipv4.frag.reasm.mem).toBe(0);
  });

  it('a fragment ending past 64 KiB, a non-last fragment under 8 bytes: dropped and counted', () => {
    const p = makePair();
    inject(p.b, frag4(p, 20, 5, 65512, false, new Uint8Array(16)));
    inject(p.b, frag4(p, 20, 6, 0, true, new Uint8Array(16)));
    expect(p.b.ipv4.frag.reasm.queueCount).toBe(1);
    // Cut to 0 bytes (end &= ~7 leaves end == offset): the whole datagram goes (discard_qp).
    inject(p.b, frag4(p, 20, 6, 16, true, new Uint8Array(5)));
    expect(p.b.ipv4.frag.reasm.counters.tooBig).toBe(1);
    expect(p.b.ipv4.frag.reasm.counters.badLength).toBe(1);
    expect(p.b.ipv4.frag.reasm.queueCount).toBe(0);
  });

  it('cuts a non-last fragment to a multiple of 8 bytes (ip_frag_queue) and reassembles', () => {
    const p = makePair();
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const data = new Uint8Array(32).map((_, i) => i + 1);
    const dgram = new Uint8Array(8 + data.length);
    dgram.set([0, 1, 0, 7, 0, dgram.length, 0, 0]); // UDP checksum 0: none
    dgram.set(data, 8);
    // 20 bytes with MF: the last 4 are ignored and come again in the next fragment, at 16.
    const tail = dgram.slice(16);
    const first = dgram.slice(0, 20);
    first.fill(0xee, 16);
    inject(p.b, frag4(p, 20, 9, 0, true, first));
    inject(p.b, frag4(p, 20, 9, 16, false, tail));
    expect(got.map((g) => Buffer.from(g).toString('hex'))).toEqual([Buffer.from(data).toString('hex')]);
    expect(p.b.ipv4.frag.reasm.counters.badLength).toBe(0);
    expect(p.b.ipv4.frag.reasm.counters.overlaps).toBe(0);
  });
});

describe('IPv4 path MTU (RFC 1191)', () => {
  const A = in4(0x0a000001);
  const B = in4(0x0a000002);

  it('fragmentation needed lowers the path MTU (floored at 552); bogus reports are ignored', async () => {
    const p = makePair();
    await resolved(p, p.a, '10.0.0.2');
    inject(p.a, fragNeeded4(p.b, p.a, 40, A, B));
    inject(p.a, fragNeeded4(p.b, p.a, 1000, 0x0a000009, B));
    expect(p.a.ipv4.pmtu.counters.belowMinimum).toBe(1);
    expect(p.a.ipv4.icmp.errors.counters.notOurs).toBe(1);
    expect(p.a.ipv4.pmtu.get(B, p.clock.now())).toBe(1500);
    inject(p.a, fragNeeded4(p.b, p.a, 1000, A, B));
    expect(p.a.ipv4.pmtu.get(B, p.clock.now())).toBe(1000);
    inject(p.a, fragNeeded4(p.b, p.a, 300, A, B));
    expect(p.a.ipv4.pmtu.get(B, p.clock.now())).toBe(552);
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const data = randomBytesSeeded(1400, 3);
    p.a.net.createSocket().send(data, 7, '10.0.0.2');
    await runUntil(p, () => got.length === 1);
    expect(Buffer.compare(got[0]!, data)).toBe(0);
    expect(p.a.ipv4.frag.counters.fragCreates).toBe(3);
  });
});

describe('IPv6 fragmentation and reassembly between stacks', () => {
  it('round-trips random sizes with fragments in random order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1453, max: 65527 }), fc.integer(), async (size, seed) => {
        const p = await pair6();
        let ok = false;
        p.a.ping(B6).then(() => (ok = true));
        await runUntil(p, () => ok);
        const got: Buffer[] = [];
        p.b.net
          .createSocket()
          .bind(7)
          .on('message', (m: Buffer) => got.push(m));
        const frames = capture(p, 'a');
        const data = randomBytesSeeded(size, seed);
        p.a.net.createSocket().send(data, 7, B6);
        await runUntil(p, () => frames.length > 0);
        expect(frames.length).toBe(Math.ceil((size + 8) / 1448));
        for (const f of shuffle(frames, seed)) inject(p.b, f);
        await runUntil(p, () => got.length === 1);
        expect(Buffer.compare(got[0]!, data)).toBe(0);
        expect(p.b.ip6!.frag.reasm.mem).toBe(0);
      }),
      { numRuns: 10 },
    );
  });

  it('drops overlapping IPv6 fragments (RFC 5722), a nested fragment, and times out with ICMPv6', async () => {
    const p = await pair6();
    let ok = false;
    p.a.ping(B6).then(() => (ok = true));
    await runUntil(p, () => ok);
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const frames = capture(p, 'a');
    p.a.net.createSocket().send(new Uint8Array(3000), 7, B6);
    await runUntil(p, () => frames.length === 3);
    const f = frames[1]!.slice();
    f[56] = (((f[56]! << 8) | f[57]!) - 8) >> 8; // offset field of the fragment header at 54
    f[57] = (((frames[1]![56]! << 8) | frames[1]![57]!) - 8) & 0xf8;
    inject(p.b, frames[0]!);
    inject(p.b, f);
    expect(p.b.ip6!.frag.reasm.counters.overlaps).toBe(1);
    expect(got.length).toBe(0);
    // The first fragment alone, then silence: time exceeded (code 1) after 60 s.
    inject(p.b, frames[0]!);
    p.la.drop = null;
    await runUntil(p, () => p.a.ip6!.counters.icmpInTimeExcds === 1);
    expect(p.b.ip6!.frag.reasm.counters.timeouts).toBe(1);
  });

  it('reassembles behind an unfragmentable part longer than an ICMP quote (a 1600-byte hop-by-hop header)', async () => {
    const p = await pair6();
    const got: string[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m.toString('hex')));
    const hbh = new Uint8Array(1600);
    hbh[0] = 44;
    hbh[1] = 1600 / 8 - 1;
    let o = 2;
    while (o < 1600) {
      const n = Math.min(257, 1600 - o);
      hbh[o] = 1; // PadN
      hbh[o + 1] = n - 2;
      o += n;
    }
    const data = new Uint8Array(16).map((_, i) => i + 1);
    const udp = new Uint8Array(8 + data.length);
    udp.set([0, 1, 0, 7, 0, udp.length]);
    udp.set(data, 8);
    const v = csumFinish(
      csumPartial(udp, 0, udp.length, pseudoSum(parseIpv6(A6), parseIpv6(B6), 17, udp.length)),
    );
    udp[6] = v >> 8;
    udp[7] = v & 0xff;
    const f1 = concat(hbh, new Uint8Array([17, 0, 0, 1, 0, 0, 0, 3]), udp.subarray(0, 16));
    const f2 = concat(hbh, new Uint8Array([17, 0, 0, 16, 0, 0, 0, 3]), udp.subarray(16));
    inject(p.b, frame6(p.b, p.a, A6, B6, 0, f2));
    inject(p.b, frame6(p.b, p.a, A6, B6, 0, f1));
    expect(got).toEqual([Buffer.from(data).toString('hex')]);
  });

  it('refuses a non-last fragment not a multiple of 8 bytes: parameter problem at payload length', async () => {
    const p = await pair6();
    let ok = false;
    p.a.ping(B6).then(() => (ok = true));
    await runUntil(p, () => ok);
    const frames = capture(p, 'b');
    const f = concat(new Uint8Array([17, 0, 0, 1, 0, 0, 0, 6]), udp(1, 7, new Uint8Array(12)));
    inject(p.b, frame6(p.b, p.a, A6, B6, 44, f));
    expect(p.b.ip6!.counters.inFragErrors).toBe(1);
    expect(p.b.ip6!.frag.reasm.queueCount).toBe(0);
    // ipv6_frag_rcv: ICMPV6_HDR_FIELD (code 0) pointing at the payload length (offset 4).
    const e = frames.find((x) => x[20] === 58 && x[54] === 4);
    expect(e).toBeDefined();
    expect([...e!.subarray(54, 62)]).toEqual([4, 0, e![56], e![57], 0, 0, 0, 4]);
  });

  it('refuses a first fragment whose header chain is cut (RFC 7112)', async () => {
    const p = await pair6();
    // Fragment header, destination options, and the UDP header left for a later fragment.
    const f = concat(new Uint8Array([60, 0, 0, 1, 0, 0, 0, 5]), new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0]));
    inject(p.b, frame6(p.b, p.a, A6, B6, 44, f));
    expect(p.b.ip6!.counters.inFragErrors).toBe(1);
    expect(p.b.ip6!.frag.reasm.queueCount).toBe(0);
    await runUntil(p, () => p.a.ip6!.counters.icmpInParmProblems === 1);
  });

  it('drops a reassembled packet that carries another fragment header (nested fragmentation)', async () => {
    const p = await pair6();
    // The fragments carry next header 44: the reassembled payload starts with a fragment header.
    const inner = new Uint8Array(24);
    inner.set([17, 0, 0, 1, 0, 0, 0, 9]);
    const f1 = concat(new Uint8Array([44, 0, 0, 1, 0, 0, 0, 7]), inner.subarray(0, 16));
    const f2 = concat(new Uint8Array([44, 0, 0, 16, 0, 0, 0, 7]), inner.subarray(16));
    inject(p.b, frame6(p.b, p.a, A6, B6, 44, f1));
    inject(p.b, frame6(p.b, p.a, A6, B6, 44, f2));
    expect(p.b.ip6!.frag.reasm.counters.oks).toBe(1);
    expect(p.b.ip6!.counters.inNestedFragment).toBe(1);
    expect(p.b.ip6!.frag.reasm.queueCount).toBe(0);
  });
});
