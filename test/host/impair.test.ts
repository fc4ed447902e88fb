// Impairment: seeded, deterministic drop / corrupt / duplicate / reorder / delay on a port's RX.
import { describe, expect, it } from 'vitest';
import {
  type ImpairConfig,
  SyncKloop,
  ValeSwitch,
  configureImpairment,
  createPipe,
} from '../../src/host/index.ts';
import { frame, guestRxRing, guestTxRing, inlineGuest, makeCsb, seqOf } from './guest.ts';

/** Sends `n` frames a → b over a pipe with impairment on b; returns what b received. */
function run(
  cfg: ImpairConfig | null,
  n = 100,
  clock?: () => number,
): { seqs: number[]; flips: number[][]; drops: number } {
  const [pa, pb] = createPipe('imp', { slots: 256 });
  if (clock !== undefined) pb.datapath.clock = clock;
  configureImpairment(pb.datapath, cfg);
  const q: (() => void)[] = [];
  const a = inlineGuest(pa, q);
  const b = inlineGuest(pb, q);
  for (let i = 0; i < n; i += 10)
    a.send(...Array.from({ length: 10 }, (_, k) => frame(pb.mac, pa.mac, i + k)));
  const data = b.recv().map((p) => p.data);
  // Bits that differ from what was sent: [packet, byte, xor] (the sequence number survives
  // corruption only when the flip is elsewhere, so compare with every frame sent).
  const flips: number[][] = [];
  data.forEach((d, i) => {
    const sent = Array.from({ length: n }, (_, k) => frame(pb.mac, pa.mac, k));
    const best = sent.map((f) =>
      f.length === d.length ? f.reduce((c, x, k) => c + (x !== d[k] ? 1 : 0), 0) : 1e9,
    );
    const k = best.indexOf(Math.min(...best));
    for (let j = 0; j < d.length; j++) if (d[j] !== sent[k]![j]) flips.push([i, j, d[j]! ^ sent[k]![j]!]);
  });
  return { seqs: data.map((d) => seqOf(d)), flips, drops: pb.datapath.drops().IMPAIRED };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('impairment', () => {
  it('is off by default and when configured with null', () => {
    expect(run(null).seqs).toEqual(range(100));
  });

  it('drops everything at 1 and counts it', () => {
    const r = run({ seed: 1, drop: 1 });
    expect(r.seqs).toEqual([]);
    expect(r.drops).toBe(100);
  });

  it('duplicates every packet right behind itself', () => {
    expect(run({ seed: 1, duplicate: 1 }, 20).seqs).toEqual(range(20).flatMap((i) => [i, i]));
  });

  it('reorders by swapping neighbours', () => {
    expect(run({ seed: 1, reorder: 1 }, 20).seqs).toEqual(range(10).flatMap((i) => [2 * i + 1, 2 * i]));
  });

  it('corrupts exactly one bit of each frame', () => {
    const r = run({ seed: 3, corrupt: 1 }, 30);
    expect(r.flips.length).toBe(30);
    expect(r.flips.map((f) => f[0])).toEqual(range(30));
    for (const f of r.flips) expect([1, 2, 4, 8, 16, 32, 64, 128]).toContain(f[2]);
    expect(run(null, 30).flips).toEqual([]);
  });

  it('gives the same outcome for the same seed, another for another seed', () => {
    const cfg = { drop: 0.2, corrupt: 0.1, duplicate: 0.1, reorder: 0.2 };
    const a = run({ seed: 7, ...cfg }, 200);
    const b = run({ seed: 7, ...cfg }, 200);
    const c = run({ seed: 8, ...cfg }, 200);
    expect(a.seqs).toEqual(b.seqs);
    expect(a.flips).toEqual(b.flips);
    expect(a.flips.length).toBeGreaterThan(0);
    expect(c.seqs).not.toEqual(a.seqs);
    // Roughly the configured fractions (200 packets).
    expect(a.drops).toBeGreaterThan(15);
    expect(a.drops).toBeLessThan(70);
  });

  it('holds a delayed packet (and, FIFO, those behind it) until its time has come', () => {
    let now = 1000;
    const [pa, pb] = createPipe('dly', { slots: 64 });
    pb.datapath.clock = () => now;
    configureImpairment(pb.datapath, { seed: 1, delay: 1, delayMs: 50 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    a.send(frame(pb.mac, pa.mac, 1), frame(pb.mac, pa.mac, 2));
    expect(b.recv()).toEqual([]);
    expect(pb.datapath.holdRemaining(1)).toBe(50);
    now += 49;
    expect(b.recv()).toEqual([]);
    now += 1;
    b.kloop.kick(1);
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([1, 2]);
    b.kloop.stop();
    a.kloop.stop();
  });

  it('works on VALE ports too', () => {
    const vale = new ValeSwitch('vimp', { maxPorts: 4 });
    const pa = vale.attach('a');
    const pb = vale.attach('b');
    configureImpairment(pb, { seed: 5, duplicate: 1 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    a.send(frame(pb.mac, pa.mac, 1), frame(pb.mac, pa.mac, 2, 5000));
    expect(b.recv().map((p) => [seqOf(p.data), p.data.length])).toEqual([
      [1, 60],
      [1, 60],
      [2, 5000],
      [2, 5000],
    ]);
  });
});

describe('impairment with worker kloops', () => {
  it('drops, duplicates and corrupts exactly as inline for the same seed', async () => {
    const cfg = { seed: 11, drop: 0.25, duplicate: 0.2, corrupt: 0.2 };
    const inline = run(cfg, 200);
    const [pa, pb] = createPipe('impw', { slots: 256 });
    configureImpairment(pb.datapath, cfg);
    const csbA = makeCsb();
    const csbB = makeCsb();
    const ka = new SyncKloop(pa, csbA, () => {}, 'worker');
    const kb = new SyncKloop(pb, csbB, () => {}, 'worker');
    ka.start();
    kb.start();
    await ka.ready();
    await kb.ready();
    const tx = guestTxRing(pa, csbA, (r) => ka.kick(r));
    const rx = guestRxRing(pb, csbB, (r) => kb.kick(r));
    tx.syncFromCsb();
    rx.syncFromCsb();
    for (let i = 0; i < 200; i++) tx.put(frame(pb.mac, pa.mac, i));
    tx.txsync();
    const seqs: number[] = [];
    for (let idle = 0; idle < 200 && seqs.length < inline.seqs.length; idle++) {
      rx.rxsync();
      for (let p = rx.take(); p !== null; p = rx.take()) seqs.push(seqOf(p.data));
      rx.rxsync();
      await new Promise((r) => setTimeout(r, 5));
    }
    ka.stop();
    kb.stop();
    expect(seqs).toEqual(inline.seqs);
    expect(pb.datapath.drops().IMPAIRED).toBe(inline.drops);
  }, 30_000);
});
