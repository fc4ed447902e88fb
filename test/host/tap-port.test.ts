// TAP port datapath over a scripted tap (TapIo): ring states, multi-slot super-frames, staging,
// back-pressure and counted refusals, without root. The kernel side is in tap-port-netns.test.ts.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NS_MOREFRAG } from '../../src/netmap/constants.ts';
import {
  DROP_REASONS,
  HostError,
  KloopCore,
  KloopThread,
  PC,
  SyncKloop,
  TapPort,
  type TapWake,
  openTapPort,
  smallRegion,
} from '../../src/host/index.ts';
import { portWords, storeVnetHdrLen } from '../../src/host/port.ts';
import { type RegionView, regionShared, ringsShared } from '../../src/host/region-view.ts';
import { TAP_WORDS, TW, TapDatapath, type TapIo, WANT_RX, WANT_TX } from '../../src/host/tap-port.ts';
import { SLEEPING_FD } from '../../src/host/kloop-idle.ts';
import { LinuxTap, TAP_POLL, TapError } from '../../src/host/tap/index.ts';
import type { NetmapRegion } from '../../src/netmap/region.ts';
import { GuestRing, makeCsb } from './guest.ts';

const EAGAIN = 11;
const EINVAL = 22;
const BS = 2048;

/** A tap that returns queued frames and records writes; `results` scripts send() outcomes. */
class ScriptedTap implements TapIo {
  readonly rxq: Uint8Array[] = [];
  readonly sent: Uint8Array[] = [];
  readonly results: number[] = [];
  reads = 0;
  recv(buf: Uint8Array, len: number): number {
    this.reads++;
    const f = this.rxq.shift();
    if (f === undefined) return -EAGAIN;
    const n = Math.min(f.length, len);
    buf.set(f.subarray(0, n));
    return n;
  }
  send(buf: Uint8Array, len: number): number {
    const r = this.results.shift();
    if (r !== undefined && r < 0) return r;
    this.sent.push(buf.slice(0, len));
    return len;
  }
  /** As readv: the frame laid over the segments in turn, cut where they end. */
  recvScatter(mem: Uint8Array, offs: Int32Array, cnt: number, segLen: number): number {
    this.reads++;
    this.scatterReads++;
    const f = this.rxq.shift();
    if (f === undefined) return -EAGAIN;
    const n = Math.min(f.length, cnt * segLen);
    for (let i = 0, o = 0; o < n; i++, o += segLen) mem.set(f.subarray(o, Math.min(n, o + segLen)), offs[i]!);
    return n;
  }
  /** As writev: the segments concatenated into one frame. */
  sendGather(mem: Uint8Array, offs: Int32Array, lens: Int32Array, cnt: number): number {
    const r = this.results.shift();
    if (r !== undefined && r < 0) return r;
    const parts: number[] = [];
    for (let i = 0; i < cnt; i++) parts.push(...mem.subarray(offs[i]!, offs[i]! + lens[i]!));
    this.sent.push(Uint8Array.from(parts));
    this.gathers++;
    return parts.length;
  }
  scatterReads = 0;
  gathers = 0;
}

function setup(slots = 64): { dp: TapDatapath; io: ScriptedTap; v: RegionView; region: NetmapRegion } {
  const region = smallRegion(1024);
  const layout = region.createPort({ name: 'tapt', txRings: 1, rxRings: 1, txSlots: slots, rxSlots: slots });
  const state = new SharedArrayBuffer((portWords(2) + TAP_WORDS) * 4);
  const io = new ScriptedTap();
  const dp = new TapDatapath(regionShared(region), ringsShared(layout), state, 0, portWords(2), io);
  for (const kr of dp.krings) kr.reset();
  storeVnetHdrLen(dp.state, 0, 12, region.bufSize);
  return { dp, io, v: dp.view, region };
}

/** vnet header (bytes 10..11 garbage, as the kernel leaves them) + frame of `len` bytes in total. */
function tapFrame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  f[10] = 0xaa;
  f[11] = 0x55;
  return f;
}

/** Reads the RX packets in [from, hwtail) as the user would; returns them and the next index. */
function drain(dp: TapDatapath, from: number): { pkts: Uint8Array[]; flags: number[][]; next: number } {
  const rx = dp.krings[1]!;
  const v = dp.view;
  const ofs = dp.ringOfs[1]!;
  const pkts: Uint8Array[] = [];
  const flags: number[][] = [];
  let i = from;
  let cur: number[] = [];
  let parts: number[] = [];
  while (i !== rx.hwtail) {
    const s = v.slot(ofs, i);
    const b = v.buf(v.bufIdx(s));
    for (let k = 0; k < v.len(s); k++) parts.push(v.u8[b + k]!);
    cur.push(v.flags(s));
    i = rx.next(i);
    if ((v.flags(s) & NS_MOREFRAG) === 0) {
      pkts.push(Uint8Array.from(parts));
      flags.push(cur);
      parts = [];
      cur = [];
    }
  }
  return { pkts, flags, next: i };
}

/** User returns everything before `head` and syncs (rxsync prologue, then rxsync). */
function rxsync(dp: TapDatapath, head: number): void {
  const kr = dp.krings[1]!;
  expect(kr.prologue(head, head)).toBe(true);
  dp.rxsync(1, 0);
}

/** Puts `pkts` in TX slots from hwcur (chains where longer than a buffer) and runs txsync. */
function txsync(dp: TapDatapath, pkts: Uint8Array[], start: number): number {
  const kr = dp.krings[0]!;
  const v = dp.view;
  const ofs = dp.ringOfs[0]!;
  let j = start;
  for (const p of pkts) {
    for (let off = 0; ; off += BS) {
      const s = v.slot(ofs, j);
      const c = Math.min(BS, p.length - off);
      v.u8.set(p.subarray(off, off + c), v.buf(v.bufIdx(s)));
      v.setLen(s, c);
      const last = off + c >= p.length;
      v.setFlags(s, last ? 0 : NS_MOREFRAG);
      j = kr.next(j);
      if (last) break;
    }
  }
  expect(kr.prologue(j, j)).toBe(true);
  dp.txsync(0, 0);
  return j;
}

const zeroDrops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0]));

describe('TAP port RX', () => {
  it('spreads frames over NS_MOREFRAG slots, header in the first, bytes 10..11 zeroed', () => {
    const { dp, io } = setup();
    const sizes = [12 + 60, 12 + 3042, 12 + 65226];
    sizes.forEach((n, i) => io.rxq.push(tapFrame(n, i)));
    rxsync(dp, 0);
    const { pkts, flags } = drain(dp, 0);
    expect(pkts.map((p) => p.length)).toEqual(sizes);
    expect(flags.map((f) => f.length)).toEqual([1, 2, 32]);
    for (let i = 0; i < 3; i++) {
      const want = tapFrame(sizes[i]!, i);
      want[10] = 0;
      want[11] = 0;
      expect(pkts[i]).toEqual(want);
      const nd = flags[i]!.length;
      expect(flags[i]).toEqual([...Array(nd - 1).fill((nd << 8) | NS_MOREFRAG), nd << 8]);
    }
    expect(dp.krings[1]!.hwtail).toBe(35);
    expect(dp.packets('rx')).toBe(3);
    // Straight into the slots (readv) while 34 slots were free for the largest frame; the last
    // look, with 28 left, went through the stage.
    expect(io.scatterReads).toBe(3);
    expect(io.reads).toBe(4);
    expect(dp.drops()).toEqual(zeroDrops);
    // Ran dry: the readiness source is armed for RX.
    expect(Atomics.load(dp.state, dp.tapCtl + TW.WANT) & WANT_RX).toBe(WANT_RX);
  });

  it('does not read a tap found empty again until the readiness source has seen it readable', () => {
    const { dp, io } = setup();
    const want = dp.tapCtl + TW.WANT;
    Atomics.store(dp.state, want, 0);
    rxsync(dp, 0);
    expect(io.reads).toBe(1); // EAGAIN: armed
    expect(Atomics.load(dp.state, want) & WANT_RX).toBe(WANT_RX);
    // The guest's syncs that only return slots cost no system call while the fd is watched.
    io.rxq.push(tapFrame(12 + 60, 1));
    rxsync(dp, 0);
    rxsync(dp, 0);
    expect(io.reads).toBe(1);
    expect(dp.krings[1]!.hwtail).toBe(0);
    // The readiness source saw POLLIN (readyBits clears the want) and woke the ring: it reads.
    expect(dp.readyBits(WANT_RX, TAP_POLL.IN)).not.toBe(0);
    rxsync(dp, 0);
    expect(io.reads).toBe(3); // the frame, then EAGAIN
    expect(dp.krings[1]!.hwtail).toBe(1);
  });

  it('keeps a frame that does not fit until the user returns slots (no drop, order kept)', () => {
    const { dp, io } = setup(8);
    for (let i = 0; i < 4; i++) io.rxq.push(tapFrame(12 + 3042, i)); // 2 slots each, 7 usable
    rxsync(dp, 0);
    let d = drain(dp, 0);
    expect(d.pkts.length).toBe(3);
    expect(dp.krings[1]!.hwtail).toBe(6);
    rxsync(dp, d.next); // slots 0..5 returned
    d = drain(dp, d.next);
    expect(d.pkts.length).toBe(1);
    expect(d.pkts[0]![100]).toBe(tapFrame(3054, 3)[100]);
    expect(dp.drops()).toEqual(zeroDrops);
  });

  it('a staged frame keeps guest kicks on, so returning slots delivers it (no stall)', () => {
    const { dp, io, region } = setup(8);
    const csb = makeCsb();
    const core = new KloopCore(dp, csb, () => {});
    core.validate();
    const rx = new GuestRing(region, dp.ringOfs[1]!, csb, 1, false, (r) => core.run(r));
    rx.syncFromCsb();
    for (let i = 0; i < 3; i++) io.rxq.push(tapFrame(12 + 5000, i)); // 3 slots each, 7 usable
    core.run(1); // the readiness source's wake-up
    rx.rxsync();
    expect(rx.take()?.data.length).toBe(5012);
    expect(rx.take()?.data.length).toBe(5012);
    expect(rx.take()).toBeNull();
    expect(dp.rxHeld(1)).toBe(true);
    expect(rx.ktoa.kernNeedKick).toBe(1);
    rx.rxsync(); // returns 6 slots: kicks, and the kloop delivers the staged frame
    expect(dp.krings[1]!.hwtail).toBe(1);
    rx.rxsync(); // (the interrupt) sees it
    const third = rx.take();
    expect(third?.data[100]).toBe(tapFrame(5012, 2)[100]);
    expect(dp.rxHeld(1)).toBe(false);
    expect(dp.drops()).toEqual(zeroDrops);
  });

  it('counts runts, truncated reads and frames larger than the ring, and goes on', () => {
    const { dp, io } = setup(16);
    io.rxq.push(tapFrame(12 + 13, 0)); // shorter than vnet + Ethernet header
    io.rxq.push(tapFrame(200_000, 1)); // fills the read buffer: possibly cut
    io.rxq.push(tapFrame(12 + 40_000, 2)); // 20 slots > 15 usable
    io.rxq.push(tapFrame(12 + 60, 3));
    rxsync(dp, 0);
    expect(drain(dp, 0).pkts.length).toBe(1);
    expect(dp.tapStats()).toMatchObject({ rxRunt: 1, rxTruncated: 1, rxOversize: 1 });
    expect(dp.drops()).toMatchObject({ RUNT: 1, NO_SPACE: 2 });
  });

  it('counts runts and truncated reads from a readv into the slots too, and publishes no slot for them', () => {
    const { dp, io } = setup(64);
    io.rxq.push(tapFrame(12 + 13, 0)); // shorter than vnet + Ethernet header
    io.rxq.push(tapFrame(200_000, 1)); // fills every offered slot: possibly cut
    const good = tapFrame(12 + 60, 3);
    io.rxq.push(good);
    rxsync(dp, 0);
    expect(io.scatterReads).toBe(4); // three frames and the look that found the tap empty
    const { pkts } = drain(dp, 0);
    expect(pkts.length).toBe(1);
    expect(pkts[0]!.subarray(12)).toEqual(good.subarray(12));
    expect(dp.krings[1]!.hwtail).toBe(1);
    expect(dp.tapStats()).toMatchObject({ rxRunt: 1, rxTruncated: 1, rxOversize: 0 });
    expect(dp.drops()).toMatchObject({ RUNT: 1, NO_SPACE: 1 });
  });

  it('offers a readv no slot whose buffer index the user broke: that read goes through the stage', () => {
    const { dp, io, v } = setup(64);
    const ofs = dp.ringOfs[1]!;
    v.setBufIdx(v.slot(ofs, 20), 0); // among the 34 a readv would offer, not among those the frame needs
    const frame = tapFrame(12 + 60, 5);
    io.rxq.push(frame);
    rxsync(dp, 0);
    expect(io.scatterReads).toBe(0);
    expect(drain(dp, 0).pkts[0]!.subarray(12)).toEqual(frame.subarray(12));
    expect(v.bufIdx(v.slot(ofs, 20))).toBe(0);
    expect(dp.drops()).toEqual(zeroDrops);
  });

  it('refuses to fill a slot whose buffer index the user broke', () => {
    const { dp, io, v } = setup(8);
    v.setBufIdx(v.slot(dp.ringOfs[1]!, 1), 0);
    io.rxq.push(tapFrame(12 + 3042, 0), tapFrame(12 + 60, 1));
    rxsync(dp, 0);
    expect(dp.drops().BAD_BUF_IDX).toBe(1);
    expect(drain(dp, 0).pkts[0]!.length).toBe(72);
  });

  it('property: any frame sizes and any return pattern deliver every frame intact and in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 26, max: 12 + 60_000 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }),
        // 32 slots: always through the stage; 128: readv into the slots while 34 are free.
        fc.constantFrom(32, 128),
        (sizes, returns, slots) => {
          const { dp, io } = setup(slots);
          sizes.forEach((n, i) => io.rxq.push(tapFrame(n, i)));
          const got: Uint8Array[] = [];
          let head = 0;
          let from = 0;
          const rx = dp.krings[1]!;
          for (let r = 0; got.length < sizes.length; r++) {
            rxsync(dp, head);
            const d = drain(dp, from);
            got.push(...d.pkts);
            from = d.next;
            // The user returns some of what it read (all of it once the script runs out).
            const want = r < returns.length ? returns[r]! : rx.dist(head, from);
            for (let k = 0; k < want && head !== from; k++) head = rx.next(head);
            if (r > 10_000) return false;
          }
          const intact = (p: Uint8Array, i: number): boolean => {
            const w = tapFrame(sizes[i]!, i);
            w[10] = 0;
            w[11] = 0;
            return p.length === w.length && p.every((b, k) => b === w[k]);
          };
          return got.length === sizes.length && got.every(intact) && dp.drops().NO_SPACE === 0;
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('TAP port TX', () => {
  it('looks at the tap right after a write while RX waits: an answer the kernel queued during write() needs no readiness event', () => {
    const { dp, io } = setup();
    const want = dp.tapCtl + TW.WANT;
    const pending = dp.ctl + PC.PENDING;
    const rxBit = 1 << dp.numTx;
    rxsync(dp, 0); // the tap is empty: RX is armed on the readiness source
    expect(Atomics.load(dp.state, want) & WANT_RX).toBe(WANT_RX);
    Atomics.store(dp.state, pending, 0);
    // The kernel answers inside our write() (an echo reply, an ACK): queued before it returns.
    io.rxq.push(tapFrame(12 + 60, 9));
    txsync(dp, [tapFrame(12 + 60, 0)], 0);
    // The RX ring is woken as the readiness source would wake it, and the want is taken back.
    expect(Atomics.load(dp.state, pending) & rxBit).toBe(rxBit);
    expect(Atomics.load(dp.state, want) & WANT_RX).toBe(0);
    rxsync(dp, 0);
    expect(drain(dp, 0).pkts.length).toBe(1);
    // Nothing more: the read found EAGAIN and armed the readiness source again.
    expect(Atomics.load(dp.state, want) & WANT_RX).toBe(WANT_RX);
  });

  it('does not look at the tap after a write when RX is not waiting, or when nothing was written', () => {
    const { dp, io } = setup();
    const want = dp.tapCtl + TW.WANT;
    const pending = dp.ctl + PC.PENDING;
    const rxBit = 1 << dp.numTx;
    // RX not armed (frames still flow, or the ring is full): no wake.
    Atomics.store(dp.state, want, 0);
    const j = txsync(dp, [tapFrame(12 + 60, 0)], 0);
    expect(Atomics.load(dp.state, pending) & rxBit).toBe(0);
    // RX armed, but the write got EAGAIN: nothing went out, nothing can have been answered.
    Atomics.store(dp.state, want, WANT_RX);
    io.results.push(-EAGAIN);
    txsync(dp, [tapFrame(12 + 60, 1)], j);
    expect(io.sent.length).toBe(1);
    expect(Atomics.load(dp.state, pending) & rxBit).toBe(0);
    expect(Atomics.load(dp.state, want)).toBe(WANT_RX | WANT_TX);
    expect(io.reads).toBe(0);
  });

  it('writes each packet once, gathering NS_MOREFRAG chains; the slots are free at once', () => {
    const { dp, io } = setup();
    const pkts = [tapFrame(12 + 60, 0), tapFrame(12 + 9000, 1), tapFrame(12 + 65226, 2)];
    const j = txsync(dp, pkts, 0);
    expect(io.sent).toEqual(pkts);
    // The two chains went out as writev over their slots' buffers (no gather copy).
    expect(io.gathers).toBe(2);
    const kr = dp.krings[0]!;
    expect(kr.hwcur).toBe(j);
    expect(kr.hwtail).toBe(kr.prev(j));
    expect(dp.packets('tx')).toBe(3);
  });

  it('counts a header the kernel refuses (EINVAL) and sends the next packet', () => {
    const { dp, io } = setup();
    io.results.push(-EINVAL, 0);
    const pkts = [tapFrame(72, 0), tapFrame(72, 1)];
    txsync(dp, pkts, 0);
    expect(io.sent).toEqual([pkts[1]]);
    expect(dp.tapStats().rejected).toBe(1);
    expect(dp.drops().BAD_VNET_HDR).toBe(1);
  });

  it('counts any other write errno (EIO: interface down) under its own counter and goes on', () => {
    const { dp, io } = setup();
    io.results.push(-5, 0);
    const pkts = [tapFrame(72, 0), tapFrame(72, 1)];
    txsync(dp, pkts, 0);
    expect(io.sent).toEqual([pkts[1]]);
    expect(dp.tapStats()).toMatchObject({ ioErrors: 1, rejected: 0 });
    expect(dp.drops()).toEqual(zeroDrops);
    expect(dp.packets('tx')).toBe(1);
  });

  it('stops on EAGAIN with the packet kept, arms TX readiness, and sends it on the next sync', () => {
    const { dp, io } = setup();
    io.results.push(0, -EAGAIN);
    const pkts = [tapFrame(72, 0), tapFrame(12 + 3000, 1), tapFrame(72, 2)];
    const j = txsync(dp, pkts, 0);
    const kr = dp.krings[0]!;
    expect(io.sent.length).toBe(1);
    expect(kr.hwcur).toBe(1);
    expect(Atomics.load(dp.state, dp.tapCtl + TW.WANT) & WANT_TX).toBe(WANT_TX);
    dp.txsync(0, 0);
    expect(io.sent).toEqual(pkts);
    expect(kr.hwcur).toBe(j);
    expect(dp.tapStats().txEagain).toBe(1);
    expect(dp.drops()).toEqual(zeroDrops);
  });

  it('drops bad slots by reason and leaves an unfinished chain for later', () => {
    const { dp, io, v } = setup();
    const ofs = dp.ringOfs[0]!;
    const kr = dp.krings[0]!;
    const put = (i: number, len: number, flags: number, idx?: number): void => {
      const s = v.slot(ofs, i);
      if (idx !== undefined) v.setBufIdx(s, idx);
      v.setLen(s, len);
      v.setFlags(s, flags);
    };
    put(0, 72, 0, 1); // reserved buffer
    put(1, 4000, 0); // longer than a buffer
    put(2, 8, 0); // no room for the vnet header
    put(3, 20, 0); // vnet header + 8 bytes: runt
    put(4, 72, NS_MOREFRAG); // chain whose end is not yet in the ring
    expect(kr.prologue(5, 5)).toBe(true);
    dp.txsync(0, 0);
    expect(io.sent.length).toBe(0);
    expect(dp.drops()).toMatchObject({ BAD_BUF_IDX: 1, BAD_LEN: 1, BAD_VNET_HDR: 1, RUNT: 1 });
    expect(kr.hwcur).toBe(4);
    put(5, 100, 0);
    expect(kr.prologue(6, 6)).toBe(true);
    dp.txsync(0, 0);
    expect(io.sent.map((p) => p.length)).toEqual([172]);
    expect(kr.hwcur).toBe(6);
  });

  it('property: any mix of good and bad packets and write outcomes — each good one sent once, intact, in order', () => {
    type Kind = 'ok' | 'badIdx' | 'badLen' | 'shortHdr' | 'runt' | 'einval' | 'eagain';
    const pkt = fc.record({
      kind: fc.constantFrom<Kind>(
        'ok',
        'ok',
        'ok',
        'badIdx',
        'badLen',
        'shortHdr',
        'runt',
        'einval',
        'eagain',
      ),
      frags: fc.array(fc.integer({ min: 12, max: BS }), { minLength: 1, maxLength: 5 }),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(pkt, { minLength: 1, maxLength: 40 }), (pkts) => {
        const { dp, io, v } = setup(256);
        const ofs = dp.ringOfs[0]!;
        const kr = dp.krings[0]!;
        const want: Uint8Array[] = [];
        const drops = { ...zeroDrops };
        let rejected = 0;
        let j = 0;
        for (const p of pkts) {
          // Packets meant to reach write() are at least vnet header + Ethernet header long.
          const base = p.frags.reduce((a, b) => a + b, 0) < 26 ? [...p.frags, 26] : p.frags;
          const frags = p.kind === 'runt' ? [20] : p.kind === 'shortHdr' ? [8, ...base] : base;
          const total = frags.reduce((a, b) => a + b, 0);
          const bytes = tapFrame(total, p.seed);
          let off = 0;
          frags.forEach((len, m) => {
            const s = v.slot(ofs, j);
            if (p.kind === 'badIdx' && m === frags.length - 1) v.setBufIdx(s, 1);
            v.u8.set(bytes.subarray(off, off + len), v.buf(v.bufIdx(s)));
            v.setLen(s, p.kind === 'badLen' && m === 0 ? BS + 1 : len);
            v.setFlags(s, m < frags.length - 1 ? NS_MOREFRAG : 0);
            off += len;
            j = kr.next(j);
          });
          if (p.kind === 'ok' || p.kind === 'eagain') want.push(bytes);
          if (p.kind === 'badIdx') drops.BAD_BUF_IDX!++;
          if (p.kind === 'badLen') drops.BAD_LEN!++;
          if (p.kind === 'shortHdr') drops.BAD_VNET_HDR!++;
          if (p.kind === 'runt') drops.RUNT!++;
          if (p.kind === 'einval') {
            drops.BAD_VNET_HDR!++;
            rejected++;
          }
        }
        // Write outcomes in packet order for the packets that reach write(): EAGAIN then a retry.
        for (const p of pkts) {
          if (p.kind === 'ok') io.results.push(0);
          if (p.kind === 'einval') io.results.push(-EINVAL);
          if (p.kind === 'eagain') io.results.push(-EAGAIN, 0);
        }
        expect(kr.prologue(j, j)).toBe(true);
        for (let i = 0; i < 50 && kr.hwcur !== j; i++) dp.txsync(0, 0);
        expect(kr.hwcur).toBe(j);
        expect(io.sent).toEqual(want);
        expect(dp.drops()).toEqual(drops);
        expect(dp.tapStats().rejected).toBe(rejected);
        expect(dp.packets('tx')).toBe(want.length);
      }),
      { numRuns: 80 },
    );
  });

  it('drops a chain longer than NETMAP_MAX_FRAGS whole', () => {
    const { dp, io, v } = setup(128);
    const ofs = dp.ringOfs[0]!;
    for (let i = 0; i < 70; i++) {
      const s = v.slot(ofs, i);
      v.setLen(s, 100);
      v.setFlags(s, i === 69 ? 0 : NS_MOREFRAG);
    }
    expect(dp.krings[0]!.prologue(70, 70)).toBe(true);
    dp.txsync(0, 0);
    expect(io.sent.length).toBe(0);
    expect(dp.drops().BAD_FRAGS).toBe(1);
    expect(dp.krings[0]!.hwcur).toBe(70);
  });
});

describe('openTapPort arguments', () => {
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof TapError || e instanceof HostError) return e.code;
      throw e;
    }
    return 'no error';
  };
  it('says which interface is missing rather than creating it', () => {
    expect(codeOf(() => openTapPort('ptnxnotthere1'))).toBe('NO_SUCH_INTERFACE');
  });
  it('refuses ring sizes outside 2..4096 before opening anything', () => {
    expect(codeOf(() => openTapPort('lo', { slots: 1 }))).toBe('HOST_ARG');
    expect(codeOf(() => openTapPort('lo', { slots: 5000 }))).toBe('HOST_ARG');
  });
  it('refuses an extra-buffer count outside 0..65536 before opening anything', () => {
    for (const extraBufs of [-1, 1.5, 65537, Number.NaN])
      expect(codeOf(() => openTapPort('lo', { extraBufs }))).toBe('HOST_ARG');
  });
});

describe('LinuxTap bounds', () => {
  it('refuses lengths outside the buffer before calling libc', () => {
    const t = LinuxTap.fromFd({ name: 'x', fd: 0, vnetHdrLen: 12, offloads: 0 });
    const b = new Uint8Array(64);
    expect(t.recv(b, 65)).toBe(-EINVAL);
    expect(t.recv(b, -1)).toBe(-EINVAL);
    expect(t.send(b, 65)).toBe(-EINVAL);
    let code = 'none';
    try {
      t.read(b, 60, 8);
    } catch (e) {
      code = e instanceof TapError ? e.code : 'other';
    }
    expect(code).toBe('BAD_RANGE');
    t.close(); // borrowed descriptor: stays open
    expect(t.recv(b, 8)).toBe(-EINVAL);
  });
});

describe('LinuxTap.fromFd', () => {
  it('refuses something that is not a descriptor', () => {
    let code = 'none';
    try {
      LinuxTap.fromFd({ name: 'x', fd: -1, vnetHdrLen: 12, offloads: 0 });
    } catch (e) {
      code = e instanceof TapError ? e.code : 'other';
    }
    expect(code).toBe('BAD_FD');
  });
});

/**
 * A TapPort over a FIFO instead of a tap (no root needed): the descriptor's readiness is what the
 * readiness sources watch, and every read of it is one "frame" of whatever bytes were written.
 */
/** An inline kloop on `port` and its RX ring, synced once (nothing yet: RX interrupts armed). */
function inlineRx(port: TapPort): { kloop: SyncKloop; rx: GuestRing; irqs: () => number } {
  const csb = makeCsb();
  let n = 0;
  const kloop = new SyncKloop(port, csb, () => n++, 'inline');
  kloop.start();
  const rx = new GuestRing(port.region, port.datapath.ringOfs[1]!, csb, 1, false, (r) => kloop.kick(r));
  rx.syncFromCsb();
  rx.rxsync();
  return { kloop, rx, irqs: () => n };
}

function fifoPort(wake: TapWake, busyPollUs?: number): { port: TapPort; fd: number; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-tapfifo-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  // O_RDWR: a FIFO open for both ends never blocks the open nor reports EOF.
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const tap = LinuxTap.fromFd({ name: 'fifo', fd, vnetHdrLen: 12, offloads: 0 });
  const region = smallRegion(1024);
  const layout = region.createPort({ name: 'fifo', txRings: 1, rxRings: 1, txSlots: 64, rxSlots: 64 });
  const mac = new Uint8Array([2, 0, 0, 0, 0, 9]);
  const port = new TapPort('fifo', region, layout, tap, mac, wake, busyPollUs);
  return {
    port,
    fd,
    done: () => {
      port.close();
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `cond` (which may consume what it finds) every 5 ms for up to 2 s. */
async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

describe.each(['thread', 'timer'] as const)('TAP port readiness (%s)', (wake) => {
  it('rings the RX doorbell when frames wait, and again only after rxsync ran dry', async () => {
    const { port, fd, done } = fifoPort(wake);
    try {
      const st = port.datapath.state;
      const want = port.datapath.tapCtl + TW.WANT;
      expect(Atomics.load(st, want)).toBe(WANT_RX); // armed from the start
      writeSync(fd, new Uint8Array(100).fill(7));
      expect(await until(() => (Atomics.load(st, PC.PENDING) & 2) !== 0)).toBe(true);
      expect(Atomics.load(st, want) & WANT_RX).toBe(0);
      Atomics.store(st, PC.PENDING, 0);
      port.datapath.rxsync(1, 0);
      expect(port.datapath.krings[1]!.hwtail).toBe(1);
      expect(port.datapath.packets('rx')).toBe(1);
      expect(Atomics.load(st, want) & WANT_RX).toBe(WANT_RX); // drained: armed again
      // TX back-pressure: once armed, a writable descriptor wakes TX ring 0.
      Atomics.or(st, want, WANT_TX);
      Atomics.notify(st, want);
      expect(await until(() => (Atomics.load(st, PC.PENDING) & 1) !== 0)).toBe(true);
    } finally {
      done();
    }
  });
});

describe('TAP port served by a worker kloop', () => {
  it('rebuilds the datapath in the worker from shared() and delivers what the descriptor yields', async () => {
    const { port, fd, done } = fifoPort('thread');
    const csb = makeCsb();
    const kloop = new SyncKloop(port, csb, () => {}, 'worker');
    try {
      expect(port.shared()).toMatchObject({ kind: 'tap', ctl: 0, tap: { fd, vnetHdrLen: 12 } });
      expect(port.setVnetHdrLen(12)).toBe(true);
      expect(port.setVnetHdrLen(0)).toBe(false);
      kloop.start();
      await kloop.ready();
      const rx = new GuestRing(port.region, port.datapath.ringOfs[1]!, csb, 1, false, (r) => kloop.kick(r));
      rx.syncFromCsb();
      const frame = tapFrame(12 + 3000, 5);
      writeSync(fd, frame);
      let got: { data: Uint8Array; flags: number[] } | null = null;
      expect(
        await until(() => {
          rx.rxsync();
          got = rx.take();
          return got !== null;
        }),
      ).toBe(true);
      const want = frame.slice();
      want[10] = 0;
      want[11] = 0;
      expect(got!.data).toEqual(want);
      expect(got!.flags.length).toBe(2);
      expect(kloop.rescues).toBe(0);
    } finally {
      kloop.stop();
      done();
    }
  });
});

describe("TAP port readiness 'auto'", () => {
  it('a worker kloop watches the fd itself: no readiness thread, woken by the fd and by kicks', async () => {
    const { port, done } = fifoPort('auto');
    const csb = makeCsb();
    let irqs = 0;
    // No poll window: every idle period ends in poll(2) on the fd and the kick eventfd.
    const kloop = new SyncKloop(port, csb, () => irqs++, 'worker', { spinUs: 0 });
    try {
      expect(port.readiness).toBe('none');
      kloop.start();
      await kloop.ready();
      expect(port.readiness).toBe('worker');
      expect(port.shared().kickFd).toBeGreaterThanOrEqual(0);
      const st = port.datapath.state;
      const asleepInFd = (): Promise<boolean> => until(() => Atomics.load(st, PC.SLEEPING) === SLEEPING_FD);
      const tx = new GuestRing(port.region, port.datapath.ringOfs[0]!, csb, 0, true, (r) => kloop.kick(r));
      const rx = new GuestRing(port.region, port.datapath.ringOfs[1]!, csb, 1, false, (r) => kloop.kick(r));
      tx.syncFromCsb();
      rx.syncFromCsb();
      rx.rxsync(); // nothing yet: RX interrupts armed
      // TX: a kick while the worker sleeps in poll(2) reaches it through the eventfd. The FIFO
      // hands the frame straight back, so the same frame then arrives on RX through the fd's
      // readiness, raising an RX interrupt.
      expect(await asleepInFd()).toBe(true);
      const frame = tapFrame(12 + 3000, 9);
      tx.putChain(frame);
      tx.txsync();
      expect(await until(() => port.datapath.packets('tx') === 1)).toBe(true);
      expect(await until(() => irqs > 0)).toBe(true);
      rx.rxsync();
      const got = rx.take();
      const want = frame.slice();
      want[10] = 0;
      want[11] = 0;
      expect(got?.data).toEqual(want);
      // RX only: a frame written while the worker sleeps wakes it through the fd.
      rx.rxsync();
      expect(await asleepInFd()).toBe(true);
      const before = irqs;
      const second = tapFrame(12 + 100, 3);
      writeSync(port.tap.fd, second);
      expect(await until(() => irqs > before)).toBe(true);
      rx.rxsync();
      expect(rx.take()?.data.subarray(12)).toEqual(second.subarray(12));
      expect(kloop.rescues).toBe(0);
      expect(kloop.idleStats.sleeps).toBeGreaterThan(0);
      expect(port.readiness).toBe('worker');
    } finally {
      kloop.stop();
      done();
    }
    expect(port.readiness).toBe('none');
  });

  it('a shared sync-loop thread refuses a TAP port (its kloop watches the fd: a thread of its own)', () => {
    const { port, done } = fifoPort('auto');
    try {
      const kloop = new SyncKloop(port, makeCsb(), () => {}, 'worker', { thread: new KloopThread() });
      expect(() => kloop.start()).toThrow(/TAP port/);
      // Refused before anything changed: the port still takes a kloop, and chose no readiness.
      expect(Atomics.load(port.datapath.state, port.datapath.ctl + PC.KLOOP)).toBe(0);
      expect(port.readiness).toBe('none');
    } finally {
      done();
    }
  });

  it("an inline kloop in the main thread gets the event loop's watch (uv_poll), which wakes it", async () => {
    const { port, fd, done } = fifoPort('auto');
    // Nothing yet: the datapath ran dry (WANT_RX armed), RX interrupts armed.
    const { kloop, rx, irqs } = inlineRx(port);
    try {
      expect(port.readiness).toBe('uv');
      for (let k = 0; k < 3; k++) {
        // No guest sync while waiting: only the event loop's watch can wake the kloop, which
        // reads the frame and raises the RX interrupt.
        const before = irqs();
        const frame = tapFrame(12 + 60 + 100 * k, k + 1);
        writeSync(fd, frame);
        expect(await until(() => irqs() > before)).toBe(true);
        rx.rxsync();
        expect(rx.take()?.data.subarray(12)).toEqual(frame.subarray(12));
        rx.rxsync();
      }
    } finally {
      kloop.stop();
      done();
    }
  });

  it('keeps the fd in epoll while frames flow: one watch change for many frames, none per frame', async () => {
    const { port, fd, done } = fifoPort('auto');
    const { kloop, rx, irqs } = inlineRx(port);
    try {
      const first = port.watchChanges;
      expect(first).toBe(1); // READABLE, armed once when the kloop started
      for (let k = 0; k < 20; k++) {
        const before = irqs();
        const frame = tapFrame(12 + 60 + k, k + 1);
        writeSync(fd, frame);
        expect(await until(() => irqs() > before)).toBe(true);
        rx.rxsync();
        expect(rx.take()?.data.subarray(12)).toEqual(frame.subarray(12));
        rx.rxsync();
      }
      // Before: a stop when the fd fired and a start when the ring ran dry, per frame.
      expect(port.watchChanges).toBe(first);
    } finally {
      kloop.stop();
      done();
    }
  });

  it('drops readability from the watch while the RX ring is full (no spinning), and takes it back once slots return', async () => {
    const { port, fd, done } = fifoPort('auto');
    const { kloop, rx } = inlineRx(port);
    try {
      // 30 slots each on a 64-slot ring: two fit, the third stays staged in the datapath.
      const chunks = [1, 2, 3, 4].map((k) => tapFrame(60_000, k));
      for (const c of chunks.slice(0, 3)) {
        const before = port.datapath.packets('rx');
        writeSync(fd, c);
        // The third is read and staged (no packet counted).
        await until(() => port.datapath.packets('rx') > before || port.datapath.rxHeld(1));
      }
      expect(port.datapath.packets('rx')).toBe(2);
      expect(port.datapath.rxHeld(1)).toBe(true);
      const changes = port.watchChanges;
      // A fourth waits in the fd while nothing wants it: the watch fires once, then drops it.
      writeSync(fd, chunks[3]!);
      expect(await until(() => port.watchChanges === changes + 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(port.watchChanges).toBe(changes + 1);
      // The guest takes everything as it comes: all four, in order, and the watch is back on.
      const got: Uint8Array[] = [];
      expect(
        await until(() => {
          rx.rxsync();
          for (let p = rx.take(); p !== null; p = rx.take()) got.push(p.data);
          rx.rxsync();
          return got.length === 4;
        }),
      ).toBe(true);
      for (let k = 0; k < 4; k++) expect(got[k]!.subarray(12)).toEqual(chunks[k]!.subarray(12));
      expect(port.watchChanges).toBe(changes + 2);
      expect(port.datapath.drops()).toEqual(zeroDrops);
    } finally {
      kloop.stop();
      done();
    }
  });
});

/** Writes `frames` into `fd` from another thread, `gapMs` apart; resolves when the thread is done. */
function writeFromThread(fd: number, frames: Uint8Array[], gapMs: number): Promise<void> {
  const w = new Worker(
    `const { workerData: d } = require('node:worker_threads');
     const { writeSync } = require('node:fs');
     const nap = new Int32Array(new SharedArrayBuffer(4));
     for (const f of d.frames) { Atomics.wait(nap, 0, 0, d.gapMs); writeSync(d.fd, f); }`,
    { eval: true, workerData: { fd, frames, gapMs } },
  );
  return new Promise((res, rej) => w.once('exit', () => res()).once('error', rej));
}

describe("TAP port readiness 'uv': busy polling after the RX ring ran dry", () => {
  it.each<[number | undefined, string]>([
    [undefined, 'never polls (the default)'],
    [0, 'never polls'],
    [200_000, 'polls (and delivers every frame, in order, whichever of poll and watch sees it)'],
  ])('busyPollUs %s %s', async (busyPollUs) => {
    const { port, fd, done } = fifoPort('auto', busyPollUs);
    const { kloop, rx } = inlineRx(port);
    try {
      // Bytes 10..11 are 0 already (the datapath zeroes them per read): two frames a read merges
      // still compare equal byte for byte.
      const frames = Array.from({ length: 24 }, (_, k) => {
        const f = tapFrame(100, k + 1);
        f[10] = 0;
        f[11] = 0;
        return f;
      });
      const writer = writeFromThread(fd, frames, 2);
      const got: number[] = [];
      const want = frames.flatMap((f) => [...f]);
      expect(
        await until(() => {
          rx.rxsync();
          for (let p = rx.take(); p !== null; p = rx.take()) got.push(...p.data);
          rx.rxsync();
          return got.length >= want.length;
        }),
      ).toBe(true);
      await writer;
      expect(got).toEqual(want);
      expect(port.datapath.drops()).toEqual(zeroDrops);
      const st = port.busyPollStats;
      if (busyPollUs === undefined || busyPollUs === 0)
        expect(st).toEqual({ hits: 0, misses: 0, preempted: 0, interrupted: 0 });
      // The window opens after the first idle period the watch ended (≤ 200 ms): later ones poll.
      else expect(st.hits + st.misses + st.preempted).toBeGreaterThan(0);
    } finally {
      kloop.stop();
      done();
    }
  });
});
