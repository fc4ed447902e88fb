import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Mempool,
  META_F_DATA_VALID,
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  META_GSO_UDP_L4,
  type Mbuf,
} from '../../src/mbuf/index.ts';
import { createNetIfPair, NetIfError, type NetIfPairOptions } from '../../src/netif/index.ts';

/** A pair whose notifications are collected and run by the test, one by one. */
function manualPair(opts: NetIfPairOptions = {}) {
  const pending: (() => void)[] = [];
  const pair = createNetIfPair({ ...opts, schedule: (fn) => pending.push(fn) });
  const log: string[] = [];
  pair.a.setEvents({ rxReady: () => log.push('a:rx'), txRestart: () => log.push('a:tx') });
  pair.b.setEvents({ rxReady: () => log.push('b:rx'), txRestart: () => log.push('b:tx') });
  const run = (): void => {
    while (pending.length > 0) pending.shift()!();
  };
  return { ...pair, pending, log, run };
}

let pool = new Mempool({ segments: 4096, segmentSize: 2048 });

function frame(len: number, tag: number, ethertype = 0x0800): Mbuf {
  const m = pool.alloc()!;
  const b = new Uint8Array(len);
  b.fill(tag);
  if (len >= 14) {
    b[12] = ethertype >>> 8;
    b[13] = ethertype & 0xff;
  }
  if (!m.append(b)) throw new Error('pool too small');
  return m;
}

describe('in-memory NetIf pair', () => {
  it('delivers in order, raises rxReady once per arming, follows the NAPI budget contract', () => {
    const p = manualPair();
    const got: number[] = [];
    const deliver = (m: Mbuf): void => {
      got.push(m.getU8(0));
      expect(m.meta.rxQueue).toBe(0);
      m.free();
    };
    for (let i = 0; i < 5; i++) expect(p.a.transmit(frame(60, i))).toBe('ok');
    expect(p.pending.length).toBe(1); // one notification for five frames
    p.run();
    expect(p.log).toEqual(['b:rx']);
    expect(p.b.poll(2, deliver)).toBe(2); // budget exhausted: no re-arm
    expect(p.a.transmit(frame(60, 5))).toBe('ok');
    expect(p.pending.length).toBe(0);
    expect(p.b.poll(10, deliver)).toBe(4); // drained: re-armed
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p.a.transmit(frame(60, 6))).toBe('ok');
    p.run();
    expect(p.log).toEqual(['b:rx', 'b:rx']);
    expect(p.b.poll(10, deliver)).toBe(1);
    expect(p.a.txPackets).toBe(7);
    expect(p.b.rxPackets).toBe(7);
    expect(p.b.rxBytes).toBe(7 * 60);
    expect(pool.inUse).toBe(0);
  });

  it('transmit(m, more = true) defers the notification to the end of the burst', () => {
    const p = manualPair();
    p.a.transmit(frame(60, 1), true);
    p.a.transmit(frame(60, 2), true);
    expect(p.pending.length).toBe(0);
    p.a.transmit(frame(60, 3));
    expect(p.pending.length).toBe(1);
    p.run();
    expect(p.b.poll(64, (m) => m.free())).toBe(3);
  });

  it('flush() ends a burst whose last frame went out with more = true: one notification, then none', () => {
    const p = manualPair();
    p.a.transmit(frame(60, 1), true);
    p.a.transmit(frame(60, 2), true);
    expect(p.pending.length).toBe(0);
    p.a.flush();
    expect(p.pending.length).toBe(1);
    p.a.flush();
    expect(p.pending.length).toBe(1);
    p.run();
    expect(p.log).toEqual(['b:rx']);
    expect(p.b.poll(64, (m) => m.free())).toBe(2);
  });

  it('a full queue answers busy, the caller keeps the mbuf, txRestart follows when room appears', () => {
    const p = manualPair({ queueLimit: 2 });
    const m1 = frame(60, 1);
    const m2 = frame(60, 2);
    const m3 = frame(60, 3);
    expect(p.a.transmit(m1)).toBe('ok');
    expect(p.a.transmit(m2)).toBe('ok');
    expect(p.a.transmit(m3)).toBe('busy');
    expect(m3.inUse).toBe(true);
    expect(m3.getU8(0)).toBe(3);
    expect(p.a.txBusy).toBe(1);
    p.run();
    expect(p.log).toEqual(['b:rx']);
    expect(p.b.poll(1, (m) => m.free())).toBe(1);
    p.run();
    expect(p.log).toEqual(['b:rx', 'a:tx']);
    expect(p.a.transmit(m3)).toBe('ok');
    expect(p.b.poll(64, (m) => m.free())).toBe(2);
    expect(pool.inUse).toBe(0);
  });

  it('drops and counts runts, oversize frames and offloads not advertised, freeing the mbuf', () => {
    const p = manualPair({ mtu: 1500 });
    expect(p.a.transmit(frame(13, 0))).toBe('ok');
    expect(p.a.dropRunt).toBe(1);
    expect(p.a.transmit(frame(1514, 0))).toBe('ok');
    expect(p.a.transmit(frame(1515, 0))).toBe('ok');
    expect(p.a.dropOversize).toBe(1);
    expect(p.a.transmit(frame(1518, 0, 0x8100))).toBe('ok'); // one VLAN tag allowed
    expect(p.a.transmit(frame(1519, 0, 0x8100))).toBe('ok');
    expect(p.a.dropOversize).toBe(2);
    const c = frame(60, 0);
    c.meta.flags = META_F_NEEDS_CSUM;
    expect(p.a.transmit(c)).toBe('ok');
    const g = frame(3000, 0);
    g.meta.flags = META_F_NEEDS_CSUM;
    g.meta.gsoType = META_GSO_TCPV4;
    g.meta.gsoSize = 1448;
    expect(p.a.transmit(g)).toBe('ok');
    expect(p.a.dropOffload).toBe(2);
    expect(p.a.txPackets).toBe(2);
    expect(p.b.poll(64, (m) => m.free())).toBe(2);
    expect(pool.inUse).toBe(0);
  });

  it('passes offload metadata both ends advertised; clears DATA_VALID on transmit', () => {
    const p = manualPair({
      a: { offloads: { txCsum: true, tso4: true, tso6: true, uso: true } },
      b: { offloads: { rxCsum: true, rxGso: true } },
    });
    const cases: [number, number, boolean][] = [
      [META_GSO_TCPV4, 1, true],
      [META_GSO_TCPV6, 1, true],
      [META_GSO_UDP_L4, 1, true],
      [META_GSO_TCPV4 | META_GSO_ECN, 1, false], // tsoEcn not advertised
      [META_GSO_TCPV4, 0, false], // GSO without NEEDS_CSUM
      [3, 1, false], // UFO is not an offload a NetIf offers
    ];
    const seen: number[] = [];
    for (const [type, csum, ok] of cases) {
      const m = frame(20000, 1);
      m.meta.flags = (csum ? META_F_NEEDS_CSUM : 0) | META_F_DATA_VALID;
      m.meta.gsoType = type;
      m.meta.gsoSize = 1000;
      m.meta.csumStart = 34;
      m.meta.csumOffset = 16;
      const before = p.a.dropOffload;
      p.a.transmit(m);
      expect(p.a.dropOffload - before).toBe(ok ? 0 : 1);
    }
    p.b.poll(64, (m) => {
      expect(m.meta.flags).toBe(META_F_NEEDS_CSUM);
      expect(m.meta.gsoSize).toBe(1000);
      expect(m.meta.csumStart).toBe(34);
      seen.push(m.meta.gsoType);
      m.free();
    });
    expect(seen).toEqual([META_GSO_TCPV4, META_GSO_TCPV6, META_GSO_UDP_L4]);
    // The reverse direction offers nothing.
    const back = frame(60, 2);
    back.meta.flags = META_F_NEEDS_CSUM;
    p.b.transmit(back);
    expect(p.b.dropOffload).toBe(1);
    // A super-frame past 64 KiB of payload is oversize.
    const big = frame(14 + 40 + 65536, 3);
    big.meta.flags = META_F_NEEDS_CSUM;
    big.meta.gsoType = META_GSO_TCPV6;
    big.meta.gsoSize = 1440;
    p.a.transmit(big);
    expect(p.a.dropOversize).toBe(1);
    expect(pool.inUse).toBe(0);
  });

  it('with the default scheduler, notifications run as microtasks', async () => {
    const { a, b } = createNetIfPair();
    let fired = 0;
    b.setEvents({ rxReady: () => fired++, txRestart: () => undefined });
    a.transmit(frame(60, 9));
    expect(fired).toBe(0);
    await Promise.resolve();
    expect(fired).toBe(1);
    expect(b.poll(8, (m) => m.free())).toBe(1);
  });

  it('rejects bad configurations', () => {
    expect(() => createNetIfPair({ mtu: 10 })).toThrow(NetIfError);
    expect(() => createNetIfPair({ queueLimit: 0 })).toThrow(NetIfError);
    expect(() => createNetIfPair({ a: { mac: new Uint8Array(5) } })).toThrow(NetIfError);
    const { a, b } = createNetIfPair();
    expect([...a.mac]).toEqual([2, 0, 0, 0, 0, 1]);
    expect([...b.mac]).toEqual([2, 0, 0, 0, 0, 2]);
  });

  it('random transmit/poll interleavings lose and reorder nothing; counters add up', () => {
    type Step = { tx: true; n: number; more: boolean } | { tx: false; budget: number };
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ tx: fc.constant(true as const), n: fc.integer({ min: 1, max: 6 }), more: fc.boolean() }),
      fc.record({ tx: fc.constant(false as const), budget: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        fc.array(stepArb, { maxLength: 50 }),
        (queueLimit, steps) => {
          pool = new Mempool({ segments: 512, segmentSize: 2048 });
          const p = manualPair({ queueLimit });
          let seq = 0;
          const sent: number[] = [];
          const got: number[] = [];
          let busy = 0;
          let restarts = 0;
          let held: Mbuf | undefined;
          const deliver = (m: Mbuf): void => {
            got.push(m.getU16(0));
            m.free();
          };
          for (const st of steps) {
            if (st.tx) {
              for (let i = 0; i < st.n; i++) {
                const m = held ?? frame(60, 0);
                if (held === undefined) m.setU16(0, seq++);
                const r = p.a.transmit(m, st.more);
                if (r === 'busy') {
                  busy++;
                  held = m; // the caller keeps it and sends it again later
                  break;
                }
                sent.push(m === held ? m.getU16(0) : seq - 1);
                held = undefined;
              }
            } else {
              const n = p.b.poll(st.budget, deliver);
              expect(n).toBeLessThanOrEqual(st.budget);
              if (n < st.budget) expect(p.b.rxQueued).toBe(0);
            }
            for (const f of p.pending.splice(0)) f();
            restarts = p.log.filter((e) => e === 'a:tx').length;
            expect(restarts).toBeLessThanOrEqual(busy); // a restart only follows a busy
            if (queueLimit !== undefined) expect(p.b.rxQueued).toBeLessThanOrEqual(queueLimit);
          }
          // Drain: whatever was accepted arrives, in order.
          while (p.b.poll(8, deliver) === 8);
          p.run();
          restarts = p.log.filter((e) => e === 'a:tx').length;
          expect(got).toEqual(sent);
          expect(p.a.txBusy).toBe(busy);
          expect(p.a.txPackets).toBe(p.b.rxPackets);
          if (busy > 0) expect(restarts).toBeGreaterThan(0);
          if (held !== undefined) held.free();
          expect(pool.inUse).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
