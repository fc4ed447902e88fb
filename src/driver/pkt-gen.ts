// pkt-gen (netmap's apps/pkt-gen) over the netmap-native port of a ptnet: one side fills TX
// slots with a fixed frame in batches, the other drains RX slots; both report packet rates.
// The frame is written into every buffer once and again only where a slot's buffer changed
// (a pipe swaps buffers; VALE copies out of them), as pkt-gen's send_packets does.

import {
  NS_BUF_CHANGED,
  SLOT_HALVES,
  SLOT_H_LEN,
  SLOT_WORDS,
  SLOT_W_BUF_IDX,
  SLOT_W_LEN_FLAGS,
  nmRingSpace,
  type NetmapRingView,
} from '../netmap/index.ts';
import { copierFor, type CopyKernel } from '../checksum/index.ts';
import type { PtnetNetmapPort } from './native.ts';

export interface PktGenOptions {
  /** Ethernet frame size without FCS (netmap pkt-gen -l; 60 minimum). */
  size: number;
  /** Slots filled per txsync (pkt-gen -b). */
  batch: number;
  /** Stop after this many packets sent... */
  count?: number;
  /** ...or after this many milliseconds of the measured window, whichever comes first. */
  durationMs?: number;
  /**
   * Milliseconds sent before the measured window opens (default 0): the JIT's warm-up, kept out
   * of `mpps` at both ends (the receiver's window opens this long after its first packet).
   */
  warmupMs?: number;
  /** Receiver gives up this long after the last packet once the sender is done (PKTGEN_IDLE_MS). */
  idleMs?: number;
  /**
   * The receiver's backlog (PtnetNetmapPort.rxBacklog) when it runs in this thread (runPktGen):
   * the sender then gives it a task once it is half a ring behind, and a microtask otherwise
   * (and its event loop a task every TASK_EVERY_MS); `() => 0` for a receiver in another thread.
   * Without it the sender gives a task every quarter ring, whatever the receiver does.
   */
  peerBacklog?: () => number;
}

export interface PktGenSide {
  /** Packets over the whole run, warm-up included. */
  packets: number;
  /** Frame bytes over the whole run. */
  bytes: number;
  /** The whole run, s. */
  seconds: number;
  /** Millions of packets per second over the measured window (after the warm-up). */
  mpps: number;
  /** Packets before the measured window opened. */
  warmupPackets: number;
}

/** A frame: broadcast destination, the port's MAC as source, EtherType 0x88b5 (local experimental). */
export function pktGenFrame(src: Uint8Array, size: number): Uint8Array {
  const f = new Uint8Array(Math.max(60, size));
  f.fill(0xff, 0, 6);
  f.set(src.subarray(0, 6), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let k = 14; k < f.length; k++) f[k] = k & 0xff;
  return f;
}

/**
 * One end's figures: `packets` over [t0, end], the rate over [mark, end] from `atMark` packets on
 * (the whole run when the window never opened or has no length).
 */
function side(
  packets: number,
  bytes: number,
  t0: number,
  mark: number,
  atMark: number,
  end: number,
): PktGenSide {
  const windowed = mark >= t0 && end > mark;
  const from = windowed ? mark : t0;
  const counted = windowed ? packets - atMark : packets;
  const ms = end - from;
  return {
    packets,
    bytes,
    seconds: (end - t0) / 1000,
    mpps: ms > 0 ? counted / ms / 1000 : 0,
    warmupPackets: windowed ? atMark : 0,
  };
}

/** NS_BUF_CHANGED in the flags half of a slot's len|flags word. */
const CHANGED_HI = NS_BUF_CHANGED << 16;

/**
 * The per-slot half of send_packets over one TX ring, with what it touches made once: the slot
 * array as words and the frame image. A slot whose buffer changed (a pipe swapped it) gets the
 * image again: with Wasm memory.copy from a copy of the image kept in a buffer of the same packet
 * memory when there is one (see borrowBuf), else with one TypedArray.set from the JS image. A JS
 * word loop was measured twice as slow as set() for the 72-byte header + frame in the pipe run,
 * and memory.copy ~8 ns faster per frame than set().
 */
class TxFiller {
  private readonly s32: Uint32Array;
  private readonly n: number;

  constructor(
    private readonly ring: NetmapRingView,
    private readonly image: Uint8Array,
    /** Region offset of the image's copy in the ring's memory, and the copier of that memory. */
    private readonly tmpl: number,
    private readonly copy: CopyKernel | undefined,
  ) {
    this.s32 = ring.slots32;
    this.n = ring.numSlots;
  }

  /** Writes the image into slot h's buffer (NMB: an index out of the pool writes buffer 0). */
  write(h: number): void {
    const off = this.ring.bufOffset(this.s32[h * SLOT_WORDS + SLOT_W_BUF_IDX]!);
    const c = this.copy;
    if (c !== undefined) c(off, this.tmpl, this.image.length);
    else this.ring.bytes.set(this.image, off);
  }

  /** Fills `room` slots from h (len, flags 0, the frame where the buffer changed); the new head. */
  fill(h: number, room: number): number {
    const s32 = this.s32;
    const n = this.n;
    // len with flags 0, as the one word they share (little-endian: len is the low half).
    const lenFlags = this.image.length;
    for (let k = 0; k < room; k++) {
      const w = h * SLOT_WORDS + SLOT_W_LEN_FLAGS;
      if ((s32[w]! & CHANGED_HI) !== 0) this.write(h);
      s32[w] = lenFlags;
      h = h === n - 1 ? 0 : h + 1;
    }
    return h;
  }
}

/** The longest a sender pacing itself on its receiver's backlog keeps its event loop waiting. */
const TASK_EVERY_MS = 1;

const nextTask = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * Takes the first extra buffer of the port off ni_bufs_head (a netmap application's own buffers,
 * NETMAP_REQ_OPT_EXTRA_BUFS), or 0 if there is none or the head is not a buffer of the pool.
 */
function borrowBuf(port: PtnetNetmapPort, ring: NetmapRingView): number {
  const nifp = port.adapter.nifp;
  const b = nifp.bufsHead;
  if (b < 2 || b >= ring.bufCount) return 0;
  nifp.bufsHead = new DataView(ring.bytes.buffer).getUint32(ring.bufOffset(b), true);
  return b;
}

/** Links buffer b back at the head of ni_bufs_head. */
function returnBuf(port: PtnetNetmapPort, ring: NetmapRingView, b: number): void {
  const nifp = port.adapter.nifp;
  new DataView(ring.bytes.buffer).setUint32(ring.bufOffset(b), nifp.bufsHead, true);
  nifp.bufsHead = b;
}

/**
 * Transmit on TX ring 0 until `count` packets or `durationMs` (a zeroed virtio-net header first if in force).
 * @mirrors pkt-gen.c:sender_body
 */
export async function pktGenTx(port: PtnetNetmapPort, o: PktGenOptions): Promise<PktGenSide> {
  const hdr = port.adapter.vnetHdrLen;
  const frame = pktGenFrame(port.adapter.mac, o.size);
  // What a slot's buffer holds: the zeroed header and the frame, written with one copy (a fill
  // plus a copy into shared memory cost three times as much).
  const image = new Uint8Array(hdr + frame.length);
  image.set(frame, hdr);
  const ring = port.txRing(0);
  const n = ring.numSlots;
  // The image also in a buffer of the ring's memory, when it is a packet memory of this thread.
  const copy = copierFor(ring.bytes.buffer);
  const tmplBuf = copy === undefined ? 0 : borrowBuf(port, ring);
  const tmpl = ring.bufOffset(tmplBuf);
  if (tmplBuf !== 0) ring.bytes.set(image, tmpl);
  const filler = new TxFiller(ring, image, tmpl, tmplBuf === 0 ? undefined : copy);
  const count = o.count ?? Number.POSITIVE_INFINITY;
  // pkt-gen fills every buffer once, then copies only into a slot whose buffer changed: a pipe
  // swaps buffers (NS_BUF_CHANGED), VALE copies out of them and leaves them in place.
  for (let h = 0; h < n; h++) filler.write(h);
  const t0 = performance.now();
  const opens = t0 + (o.warmupMs ?? 0);
  const deadline = o.durationMs === undefined ? Number.POSITIVE_INFINITY : opens + o.durationMs;
  let mark = -1;
  let atMark = 0;
  let sent = 0;
  let yielded = 0;
  const yieldEvery = Math.max(1, n >> 2);
  const backlog = o.peerBacklog;
  const behind = Math.max(1, n >> 1);
  let taskAt = t0;
  try {
    for (;;) {
      const now = performance.now();
      if (sent >= count || now >= deadline) break;
      if (mark < 0 && now >= opens) {
        mark = now;
        atMark = sent;
      }
      const h = ring.head;
      const room = Math.min(nmRingSpace(h, ring.tail, n), o.batch, count - sent);
      if (room === 0) {
        await port.pollTx(0);
        continue;
      }
      ring.head = ring.cur = filler.fill(h, room);
      sent += room;
      port.txsync(0);
      // Let a receiver sharing this thread run between batches: VALE drops what a full
      // destination ring cannot take, it does not push back. A task boundary lets all of the
      // receiver's wake-up chain (the interrupt, its poll, its loop) run, at the cost of an
      // event-loop iteration (~2 µs here); a microtask (`await null`) lets it advance one step.
      if (backlog === undefined) {
        // Blind: a task every quarter ring.
        if (sent - yielded >= yieldEvery) {
          yielded = sent;
          await nextTask();
        } else {
          await null;
        }
        continue;
      }
      // The receiver's backlog known (the frames still in this TX ring count: a worker sync loop
      // may deliver them all at once): a task only once it is half a ring behind, else a step,
      // and one every TASK_EVERY_MS for the rest of the event loop. Inline that is a task every
      // other batch of 256 on a 1024-slot ring; in worker mode, where the receiver's interrupts
      // come as tasks, about one per batch. Measured against a task every quarter ring and
      // against up to 8 steps before a task: bench/README.md, pkt-gen.
      if (backlog() + port.txPending(0) >= behind || now - taskAt >= TASK_EVERY_MS) {
        taskAt = now;
        await nextTask();
      } else {
        await null;
      }
    }
  } finally {
    // The borrowed buffer goes back to the chain the host frees with the port.
    if (tmplBuf !== 0 && port.adapter.isAttached) returnBuf(port, ring, tmplBuf);
  }
  return side(sent, sent * frame.length, t0, mark, atMark, performance.now());
}

/**
 * Receive on RX ring 0 until `stop(received, msSinceLastPacket)` holds with the ring empty. Counts
 * slots and their lengths without touching the buffers (receive_packets without -D), tail read
 * once per sync.
 * @mirrors pkt-gen.c:receiver_body
 */
export async function pktGenRx(
  port: PtnetNetmapPort,
  stop: (received: number, idleMs: number) => boolean,
  /** The measured window opens this long after the first packet (PktGenOptions.warmupMs). */
  warmupMs = 0,
): Promise<PktGenSide> {
  const hdr = port.adapter.vnetHdrLen;
  const ring = port.rxRing(0);
  const n = ring.numSlots;
  const s16 = ring.slots16;
  const t0 = performance.now();
  let got = 0;
  let bytes = 0;
  let last = t0;
  let first = -1;
  let mark = -1;
  let atMark = 0;
  const cancel = (): boolean => stop(got, performance.now() - last);
  for (;;) {
    let h = ring.head;
    const tail = ring.tail;
    if (h === tail) {
      if (!(await port.pollRx(0, cancel))) break;
      continue;
    }
    let seen = 0;
    let lens = 0;
    while (h !== tail) {
      lens += s16[h * SLOT_HALVES + SLOT_H_LEN]!;
      seen++;
      h = h === n - 1 ? 0 : h + 1;
    }
    got += seen;
    bytes += lens - seen * hdr;
    ring.head = ring.cur = h;
    port.rxsync(0);
    last = performance.now();
    if (mark < 0) {
      if (first < 0) first = last;
      if (last - first >= warmupMs) {
        mark = last;
        atMark = got;
      }
    }
  }
  return side(got, bytes, t0, mark, atMark, last);
}

/** How long the receiver waits for stragglers once the sender is done (VALE may have dropped some). */
export const PKTGEN_IDLE_MS = 100;

/**
 * Runs a sender on `tx` and a receiver on `rx` together. The receiver stops once the sender is
 * done and either everything sent arrived or nothing arrived for `o.idleMs` (PKTGEN_IDLE_MS).
 */
export async function runPktGen(
  tx: PtnetNetmapPort,
  rx: PtnetNetmapPort,
  o: PktGenOptions,
): Promise<{ tx: PktGenSide; rx: PktGenSide }> {
  const idleMs = o.idleMs ?? PKTGEN_IDLE_MS;
  let sent = -1;
  let timer: ReturnType<typeof setInterval> | undefined;
  const txP = pktGenTx(tx, { ...o, peerBacklog: () => rx.rxBacklog(0) }).then((r) => {
    sent = r.packets;
    // Pollers sleep on interrupts; once the sender is done, time alone must also wake them.
    timer = setInterval(() => rx.wakeAll(), idleMs / 4);
    rx.wakeAll();
    return r;
  });
  const rxP = pktGenRx(rx, (got, idle) => sent >= 0 && (got >= sent || idle >= idleMs), o.warmupMs);
  try {
    const [t, r] = await Promise.all([txP, rxP]);
    return { tx: t, rx: r };
  } finally {
    clearInterval(timer);
  }
}
