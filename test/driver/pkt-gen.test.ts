import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetmapPort, pktGenFrame, pktGenTx, runPktGen } from '../../src/driver/index.ts';
import { SyncKloop, ValeSwitch, createPipe } from '../../src/host/index.ts';
import type { KloopMode, NetmapPort } from '../../src/host/index.ts';

/** Takes every frame b's RX ring holds, counting those that are not `want` byte for byte. */
function receiver(b: PtnetNetmapPort, want: number[]): { drain: () => void; got: number; bad: number } {
  const ring = b.rxRing(0);
  const r = {
    got: 0,
    bad: 0,
    drain: (): void => {
      let h = ring.head;
      while (h !== ring.tail) {
        const off = ring.slotBufOffset(h);
        const bytes = Array.from(ring.bytes.subarray(off, off + ring.slotLen(h)));
        if (bytes.length !== want.length || bytes.some((x, i) => x !== want[i])) r.bad++;
        r.got++;
        h = (h + 1) % ring.numSlots;
      }
      ring.head = ring.cur = h;
      b.rxsync(0);
    },
  };
  return r;
}

function guest(port: NetmapPort, mode: KloopMode): PtnetNetmapPort {
  const m = new Machine({ size: 16 * 4096 });
  m.addPtnet(port, (p, csb, irq) => new SyncKloop(p, csb, irq, mode));
  return new PtnetNetmapPort(PtnetAdapter.attach(m));
}

/** Two inline guests on ports a and b of a fresh VALE switch named `name`. */
function valePair(name: string): { pb: NetmapPort; a: PtnetNetmapPort; b: PtnetNetmapPort } {
  const vale = new ValeSwitch(name, {});
  const pa = vale.attach('a');
  const pb = vale.attach('b');
  return { pb, a: guest(pa, 'inline'), b: guest(pb, 'inline') };
}

describe('pkt-gen', () => {
  it('builds a broadcast frame from the port MAC', () => {
    const f = pktGenFrame(new Uint8Array([2, 0, 0, 0, 0, 9]), 40);
    expect(f.length).toBe(60);
    expect(Array.from(f.subarray(0, 14))).toEqual([
      255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 9, 0x88, 0xb5,
    ]);
  });

  for (const mode of ['inline', 'worker'] as const) {
    it(`counts every packet over a pipe (${mode})`, async () => {
      const [e0, e1] = createPipe(`pg${mode[0]}`, { slots: 256 });
      const a = guest(e0, mode);
      const b = guest(e1, mode);
      const r = await runPktGen(a, b, { size: 60, batch: 32, count: 20_000 });
      expect(r.tx.packets).toBe(20_000);
      expect(r.rx.packets).toBe(20_000);
      expect(r.rx.bytes).toBe(20_000 * 60);
      a.adapter.detach();
      b.adapter.detach();
    }, 30_000);
  }

  // The rate covers the measured window alone: the sender's opens warmupMs after its start, the
  // receiver's warmupMs after its first packet; the counts cover the whole run.
  it('keeps the warm-up out of the rate at both ends', async () => {
    const [e0, e1] = createPipe('pgwarm', { slots: 256 });
    const a = guest(e0, 'inline');
    const b = guest(e1, 'inline');
    const r = await runPktGen(a, b, { size: 60, batch: 32, durationMs: 100, warmupMs: 100 });
    for (const side of [r.tx, r.rx]) {
      expect(side.warmupPackets).toBeGreaterThan(0);
      expect(side.warmupPackets).toBeLessThan(side.packets);
      const window = (side.packets - side.warmupPackets) / (side.mpps * 1e6);
      expect(window).toBeGreaterThan(0.09);
      expect(window).toBeLessThanOrEqual(side.seconds - 0.099);
    }
    expect(r.rx.packets).toBe(r.tx.packets);
    expect(r.tx.seconds).toBeGreaterThanOrEqual(0.2);
    a.adapter.detach();
    b.adapter.detach();
  }, 30_000);

  it('over VALE with the 12-byte header on both ports', async () => {
    const { pb, a, b } = valePair('vale0');
    expect(a.adapter.vnetHdrLen).toBe(12);
    const r = await runPktGen(a, b, { size: 60, batch: 64, count: 5000 });
    expect(r.tx.packets).toBe(5000);
    // VALE drops on a full destination ring instead of pushing back: what did not arrive was counted.
    expect(r.rx.packets).toBeGreaterThan(0);
    expect(r.rx.packets + pb.datapath.drops().NO_SPACE).toBe(5000);
    expect(r.rx.bytes).toBe(r.rx.packets * 60);
    a.adapter.detach();
    b.adapter.detach();
  }, 30_000);

  // The sender writes a buffer only when its slot's buffer changed (pipes swap them): every
  // frame that arrives must still be the whole frame behind a zeroed header, for each backend.
  // Sizes: the minimum, an odd one, and one spanning several cache lines.
  for (const [backend, size] of [
    ['pipe', 60],
    ['vale', 60],
    ['pipe', 61],
    ['vale', 61],
    ['pipe', 200],
  ] as const) {
    it(`every received frame is the frame (${backend}, ${size} bytes, buffers rewritten only when swapped)`, async () => {
      const [pa, pb] =
        backend === 'pipe' ? createPipe('pgc', { slots: 64 }) : [new ValeSwitch('vale-c', {}), null];
      const ports: [NetmapPort, NetmapPort] =
        pb === null
          ? [(pa as ValeSwitch).attach('a'), (pa as ValeSwitch).attach('b')]
          : [pa as NetmapPort, pb];
      const a = guest(ports[0], 'inline');
      const b = guest(ports[1], 'inline');
      const hdr = a.adapter.vnetHdrLen;
      const want = [...new Uint8Array(hdr), ...pktGenFrame(a.adapter.mac, size)];
      const rx = receiver(b, want);
      const drain = rx.drain;
      const tx = pktGenTx(a, { size, batch: 16, count: 640 });
      const iv = setInterval(drain, 0);
      const r = await tx;
      await new Promise((res) => setTimeout(res, 20));
      clearInterval(iv);
      drain();
      expect(r.packets).toBe(640);
      // Ten times round a 64-slot ring: the buffers went round too.
      expect(rx.got).toBeGreaterThan(backend === 'pipe' ? 639 : 0);
      expect(rx.bad).toBe(0);
      a.adapter.detach();
      b.adapter.detach();
    }, 30_000);
  }

  // The frame's copy lives in an extra buffer borrowed from ni_bufs_head (memory.copy from it);
  // without extra buffers the sender copies from its own image. Both send the frame, and the
  // borrowed buffer is back at the head of the chain afterwards.
  for (const extraBufs of [0, 8]) {
    it(`sends the frame with ${extraBufs} extra buffers, and gives back what it borrowed`, async () => {
      const [e0, e1] = createPipe(`pgx${extraBufs}`, { slots: 64, extraBufs });
      const a = guest(e0, 'inline');
      const b = guest(e1, 'inline');
      const nifp = a.adapter.nifp;
      const head = nifp.bufsHead;
      expect(head === 0).toBe(extraBufs === 0);
      const hdr = a.adapter.vnetHdrLen;
      const want = [...new Uint8Array(hdr), ...pktGenFrame(a.adapter.mac, 60)];
      const rx = receiver(b, want);
      const drain = rx.drain;
      const tx = pktGenTx(a, { size: 60, batch: 16, count: 320 });
      const iv = setInterval(drain, 0);
      await tx;
      await new Promise((res) => setTimeout(res, 20));
      clearInterval(iv);
      drain();
      expect(rx.got).toBe(320);
      expect(rx.bad).toBe(0);
      expect(nifp.bufsHead).toBe(head);
      a.adapter.detach();
      b.adapter.detach();
    }, 30_000);
  }

  // What the sender paces itself on (runPktGen): the receiver's backlog and its own slots the host
  // has not taken. Inline, a pipe end's sync loop runs inside txsync, so both are exact at once.
  it('reads the backlog of a receiver and the slots the host has not taken', () => {
    const [e0, e1] = createPipe('pgbl', { slots: 64 });
    const a = guest(e0, 'inline');
    const b = guest(e1, 'inline');
    const tx = a.txRing(0);
    const push = (k: number): void => {
      for (let i = 0; i < k; i++) tx.setSlotLen((tx.head + i) % 64, 60);
      tx.head = tx.cur = (tx.head + k) % 64;
      a.txsync(0);
    };
    push(40);
    expect(b.rxBacklog(0)).toBe(40);
    expect(a.txPending(0)).toBe(0);
    // The receiver releases 15: its backlog shrinks by as many.
    b.rxsync(0);
    const rx = b.rxRing(0);
    rx.head = rx.cur = 15;
    b.rxsync(0);
    expect(b.rxBacklog(0)).toBe(25);
    push(23);
    expect(b.rxBacklog(0)).toBe(48);
    expect(a.txPending(0)).toBe(0);
    // 20 more with room for 15 (63 usable slots): the host takes 15, 5 stay pending.
    push(20);
    expect(b.rxBacklog(0)).toBe(63);
    expect(a.txPending(0)).toBe(5);
    a.adapter.detach();
    b.adapter.detach();
  });

  it('reads 0 where the host published an index outside the ring', () => {
    const [e0, e1] = createPipe('pgbad', { slots: 64 });
    const a = guest(e0, 'inline');
    const b = guest(e1, 'inline');
    b.rxKring(0).ktoa.hwtail = 64;
    a.txKring(0).ktoa.hwcur = 1000;
    expect(b.rxBacklog(0)).toBe(0);
    expect(a.txPending(0)).toBe(0);
    a.adapter.detach();
    b.adapter.detach();
  });

  // VALE does not push back: a receiver in the sender's thread that falls a ring behind loses
  // frames. Paced on its backlog, the sender gives it the thread in time; with one microtask per
  // batch and no backlog (what the pacing replaces at most steps) it would drop.
  it('loses nothing over VALE inline when the sender paces itself on the receiver', async () => {
    const { pb, a, b } = valePair('vale-pace');
    const r = await runPktGen(a, b, { size: 60, batch: 256, count: 200_000 });
    expect(r.tx.packets).toBe(200_000);
    expect(pb.datapath.drops().NO_SPACE).toBe(0);
    expect(r.rx.packets).toBe(200_000);
    a.adapter.detach();
    b.adapter.detach();
  }, 30_000);
});
