import { describe, expect, it } from 'vitest';
import { createNetIfPair } from '../../src/netif/index.ts';
import { Stack, VirtualClock, key6, linkLocalFromMac } from '../../src/stack/index.ts';
import { parseIpv6, ipv6ToString } from '../../src/wire/index.ts';
import { LossyNetIf, makePair, runUntil, type Pair } from './harness.ts';
import { frame6, inject } from './ip-frames.ts';

const A6 = '2001:db8::1';
const B6 = '2001:db8::2';

function pair6(dadTransmits = 1): Pair {
  return makePair({
    a: { ipv6: { addresses: [`${A6}/64`], dadDelay: 0, dadTransmits } },
    b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 0, dadTransmits } },
  });
}

async function dadDone(p: Pair): Promise<void> {
  await runUntil(p, () => [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state !== 'TENTATIVE')));
}

describe('IPv6 addresses and DAD', () => {
  it('derives the link-local address by modified EUI-64', () => {
    const ll = linkLocalFromMac(new Uint8Array([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]));
    expect(ipv6ToString(ll)).toBe('fe80::5eff:fe10:2030');
    const p = pair6();
    expect(p.a.ip6!.addresses.map((a) => a.state)).toEqual(['TENTATIVE', 'TENTATIVE']);
  });

  it('addresses become PREFERRED after one silent RetransTimer', async () => {
    const p = pair6();
    const t = await (async () => {
      const start = p.clock.now();
      await dadDone(p);
      return p.clock.now() - start;
    })();
    expect(p.a.ip6!.addresses.every((a) => a.state === 'PREFERRED')).toBe(true);
    expect(t).toBeGreaterThanOrEqual(1000);
    expect(p.a.ip6!.ndpCounters.dadOk).toBe(2);
    // The other side's probes go to solicited-node groups it did not join: filtered by MAC.
    expect(p.b.ip6!.ndpCounters.nsIn).toBe(0);
    expect(p.b.counters.rxOtherHost).toBeGreaterThanOrEqual(2);
    expect(p.a.ip6!.ndpCounters.dadDuplicates).toBe(0);
  });

  it('detects a duplicate: a second node with the same address answers the probe', async () => {
    const clock = new VirtualClock(1000);
    const { a, b } = createNetIfPair();
    const results: string[] = [];
    const A = new Stack({
      netif: new LossyNetIf(a),
      ipv4: '10.0.0.1/24',
      time: clock,
      ipv6: { addresses: ['2001:db8::7/64'], dadTransmits: 0 },
    });
    const B = new Stack({
      netif: new LossyNetIf(b),
      ipv4: '10.0.0.2/24',
      time: clock,
      ipv6: {
        addresses: ['2001:db8::7/64'],
        dadDelay: 0,
        onDad: (x, r) => results.push(`${x.toString()} ${r}`),
      },
    });
    const p = { clock, a: A, b: B, la: A.netif as LossyNetIf, lb: B.netif as LossyNetIf };
    await runUntil(p, () => results.length === 2);
    expect(results).toContain('2001:db8::7/64 duplicate');
    expect(B.ip6!.addresses[1]!.state).toBe('DUPLICATE');
    expect(B.ip6!.ndpCounters.dadDuplicates).toBe(1);
    // The defended address answered with an NA to all-nodes (source ::).
    expect(A.ip6!.ndpCounters.naOut).toBeGreaterThanOrEqual(1);
    // A duplicate address is never used as a source: B falls back to its link-local one.
    const src = new Uint8Array(16);
    expect(B.ip6!.sourceFor(parseIpv6('2001:db8::7'), 0, src)).toBe(true);
    expect(ipv6ToString(src).startsWith('fe80::')).toBe(true);
  });

  it('two nodes probing the same tentative address at once both see a duplicate', async () => {
    const clock = new VirtualClock(1000);
    const { a, b } = createNetIfPair();
    const A = new Stack({
      netif: new LossyNetIf(a),
      ipv4: '10.0.0.1/24',
      time: clock,
      ipv6: { addresses: ['fd00::9/64'], dadDelay: 0 },
    });
    const B = new Stack({
      netif: new LossyNetIf(b),
      ipv4: '10.0.0.2/24',
      time: clock,
      ipv6: { addresses: ['fd00::9/64'], dadDelay: 0 },
    });
    const p = { clock, a: A, b: B, la: A.netif as LossyNetIf, lb: B.netif as LossyNetIf };
    await runUntil(p, () => [A, B].every((s) => s.ip6!.addresses.every((x) => x.state !== 'TENTATIVE')));
    expect(A.ip6!.addresses[1]!.state).toBe('DUPLICATE');
    expect(B.ip6!.addresses[1]!.state).toBe('DUPLICATE');
    expect(A.ip6!.addresses[0]!.state).toBe('PREFERRED');
  });
});

describe('neighbour discovery', () => {
  it('resolves by NS/NA and walks REACHABLE → STALE → DELAY → PROBE → REACHABLE', async () => {
    const p = pair6();
    await dadDone(p);
    let rtt = -1;
    p.a.ping(B6).then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    const kb = key6(parseIpv6(B6));
    const ka = key6(parseIpv6(A6));
    const e = p.a.ip6!.nd.get(kb)!;
    expect(e.state).toBe('REACHABLE');
    expect([...e.lladdr]).toEqual([...p.b.netif.mac]);
    // B learned A from the solicitation's source link-layer option (STALE), then used it (DELAY).
    expect(p.b.ip6!.nd.get(ka)!.state).toBe('DELAY');
    // Time passes without traffic: REACHABLE expires to STALE.
    p.clock.advance(50_000);
    expect(e.state).toBe('STALE');
    // Using a STALE entry moves it to DELAY and sends at once.
    rtt = -1;
    p.a.ping(B6).then((r) => (rtt = r));
    expect(e.state).toBe('DELAY');
    await runUntil(p, () => rtt >= 0);
    // No upper-layer confirmation: after 5 s DELAY becomes PROBE, a unicast NS is answered (S=1).
    const nsBefore = p.a.ip6!.ndpCounters.nsOut;
    await runUntil(p, () => e.state === 'REACHABLE');
    expect(p.a.ip6!.ndpCounters.nsOut).toBe(nsBefore + 1);
  });

  it('fails resolution after MAX_MULTICAST_SOLICIT probes and drops the queued packets', async () => {
    const p = pair6();
    await dadDone(p);
    let err: unknown = null;
    p.a.ping('2001:db8::99', { timeout: 10_000 }).catch((e: unknown) => (err = e));
    await runUntil(p, () => err !== null);
    expect(p.a.ip6!.nd.get(key6(parseIpv6('2001:db8::99')))).toBeUndefined();
    expect(p.a.ip6!.nd.counters.failed).toBe(1);
    expect(p.a.ip6!.counters.outDiscards).toBe(1);
    expect(p.a.ip6!.ndpCounters.nsOut).toBeGreaterThanOrEqual(3);
  });

  it('bounds the queue of packets awaiting resolution', async () => {
    const p = makePair({
      a: { ipv6: { addresses: [`${A6}/64`], dadDelay: 0, ndp: { queueLen: 2 } } },
      b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 0 } },
    });
    await dadDone(p);
    p.lb.drop = () => true; // B is silent
    const s = p.a.net.createSocket();
    for (let i = 0; i < 5; i++) s.send('x', 9, B6);
    expect(p.a.ip6!.nd.get(key6(parseIpv6(B6)))!.queue.length).toBe(2);
    expect(p.a.ip6!.counters.outDiscards).toBe(3);
    s.close();
  });

  it('drops NDP with a hop limit other than 255 and counts it', async () => {
    const p = pair6();
    await dadDone(p);
    // Forge an NS from B with hop limit 64 by rewriting B's outgoing solicitation.
    p.lb.drop = (m) => {
      if (m.getU16(12) === 0x86dd && m.getU8(20) === 58 && m.getU8(54) === 135) m.setU8(21, 64);
      return false;
    };
    p.b.ping(A6).catch(() => {});
    await runUntil(p, () => p.a.ip6!.ndpCounters.invalid > 0);
    expect(p.a.ip6!.nd.get(key6(parseIpv6(B6)))).toBeUndefined();
  });
});

describe('NDP validity (RFC 4861 §7.1) and tentative addresses', () => {
  function ns(target: string, sllao: boolean): Uint8Array {
    const m = new Uint8Array(24 + (sllao ? 8 : 0));
    m[0] = 135;
    m.set(parseIpv6(target), 8);
    if (sllao) m.set([1, 1, 2, 0, 0, 0, 0, 9], 24);
    return m;
  }
  function na(target: string, flags: number): Uint8Array {
    const m = new Uint8Array(32);
    m[0] = 136;
    m[4] = flags;
    m.set(parseIpv6(target), 8);
    m.set([2, 1, 2, 0, 0, 0, 0, 9], 24);
    return m;
  }
  const ck = { at: 2, l4: 0, proto: 58 };

  it('drops malformed solicitations/advertisements and counts them', async () => {
    const p = pair6();
    await dadDone(p);
    const b = p.b.ip6!.ndpCounters;
    // From :: with a source link-layer option.
    inject(p.b, frame6(p.b, p.a, '::', 'ff02::1:ff00:2', 58, ns(B6, true), 255, ck));
    // From :: to a unicast destination.
    inject(p.b, frame6(p.b, p.a, '::', B6, 58, ns(B6, false), 255, ck));
    // Multicast target.
    inject(p.b, frame6(p.b, p.a, A6, B6, 58, ns('ff02::1', true), 255, ck));
    // Solicited advertisement to a multicast destination.
    inject(p.b, frame6(p.b, p.a, A6, 'ff02::1', 58, na(A6, 0x60), 255, ck));
    // Non-zero code.
    const bad = ns(B6, true);
    bad[1] = 1;
    inject(p.b, frame6(p.b, p.a, A6, B6, 58, bad, 255, ck));
    expect(b.invalid).toBe(5);
    // An unsolicited advertisement for a neighbour we never asked about: no entry is made.
    inject(p.b, frame6(p.b, p.a, A6, 'ff02::1', 58, na(A6, 0x20), 255, ck));
    expect(b.naNoEntry).toBe(1);
    expect(p.b.ip6!.nd.get(key6(parseIpv6(A6)))).toBeUndefined();
    expect(p.b.ip6!.ndpCounters.naOut).toBe(0);
  });

  it('discards packets for a tentative address and answers no solicitation for it', async () => {
    const p = makePair({
      a: { ipv6: { addresses: [`${A6}/64`], dadDelay: 0, dadTransmits: 0 } },
      b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 10_000 } },
    });
    await runUntil(p, () => p.a.ip6!.addresses.every((x) => x.state === 'PREFERRED'));
    expect(p.b.ip6!.addresses[1]!.state).toBe('TENTATIVE');
    const echo = new Uint8Array(16);
    echo[0] = 128;
    inject(p.b, frame6(p.b, p.a, A6, B6, 58, echo, 64, ck));
    expect(p.b.ip6!.counters.inTentative).toBe(1);
    // A solicitation from a specified source for the tentative address is ignored (RFC 4862 §5.4.3).
    inject(p.b, frame6(p.b, p.a, A6, 'ff02::1:ff00:2', 58, ns(B6, true), 255, ck));
    expect(p.b.ip6!.ndpCounters.naOut).toBe(0);
    expect(p.b.ip6!.addresses[1]!.state).toBe('TENTATIVE');
  });
});

describe('router discovery (RFC 4861 §6.3)', () => {
  const llB = 'fe80::ff:fe00:2';
  /** A router advertisement from `src` with a source link-layer option and one prefix. */
  function ra(p: Pair, src: string, lifetime: number, hop = 255, prefixValid = 3600): Uint8Array {
    const m = new Uint8Array(16 + 8 + 32);
    m[0] = 134;
    m[4] = 42; // cur hop limit
    m[6] = lifetime >> 8;
    m[7] = lifetime & 0xff;
    m.set([1, 1, ...p.b.netif.mac], 16);
    const pi = 24;
    m.set(
      [
        3,
        4,
        64,
        0xc0,
        prefixValid >>> 24,
        (prefixValid >>> 16) & 255,
        (prefixValid >>> 8) & 255,
        prefixValid & 255,
      ],
      pi,
    );
    m.set(parseIpv6('2001:db8:5::'), pi + 16);
    return frame6(p.a, p.b, src, 'ff02::1', 58, m, hop, { at: 2, l4: 0, proto: 58 });
  }

  it('sends router solicitations once the link-local address is usable, RTR_SOLICITATION_INTERVAL apart', async () => {
    const p = makePair({
      a: { ipv6: { dadDelay: 0, routerSolicitations: 2 } },
      b: { ipv6: { dadDelay: 0 } },
    });
    const at: number[] = [];
    p.la.drop = (m) => {
      if (m.getU16(12) === 0x86dd && m.getU8(54) === 133) at.push(p.clock.now());
      return false;
    };
    await runUntil(p, () => at.length === 2);
    expect(at[1]! - at[0]!).toBe(4000);
    expect(p.a.ip6!.ndpCounters.rsOut).toBe(2);
    p.clock.advance(20_000);
    expect(p.a.ip6!.ndpCounters.rsOut).toBe(2);
  });

  it('an advertisement sets the default router, on-link prefix, hop limit; lifetime 0 withdraws it', async () => {
    const p = pair6();
    await dadDone(p);
    const a6 = p.a.ip6!;
    inject(p.a, ra(p, B6, 1800)); // not link-local: invalid
    inject(p.a, ra(p, llB, 1800, 64)); // hop limit not 255
    expect(a6.ndpCounters.raInvalid).toBe(1);
    expect(a6.ndpCounters.invalid).toBe(1);
    expect(a6.routes.lookup(parseIpv6('2001:db9::7'))).toBeUndefined();
    inject(p.a, ra(p, llB, 1800));
    expect(a6.hopLimit).toBe(42);
    expect(a6.routes.lookup(parseIpv6('2001:db8:5::9'))!.gateway).toBeNull();
    expect(ipv6ToString(a6.routes.lookup(parseIpv6('2001:db9::7'))!.gateway!)).toBe(llB);
    // The source link-layer option made a STALE entry: no solicitation needed.
    expect(a6.nd.get(key6(parseIpv6(llB)))!.state).toBe('STALE');
    const nsBefore = a6.ndpCounters.nsOut;
    p.a.net.createSocket().send('x', 9, '2001:db9::7');
    await runUntil(p, () => p.b.ip6!.counters.inAddrErrors === 1);
    expect(a6.ndpCounters.nsOut).toBe(nsBefore);
    inject(p.a, ra(p, llB, 0, 255, 0));
    expect(a6.routes.lookup(parseIpv6('2001:db9::7'))).toBeUndefined();
    expect(a6.routes.lookup(parseIpv6('2001:db8:5::9'))).toBeUndefined();
    // Router lifetime runs out on its own too.
    inject(p.a, ra(p, llB, 2));
    p.clock.advance(2000);
    expect(a6.routes.lookup(parseIpv6('2001:db9::7'))).toBeUndefined();
  });

  it('a configured gateway is not replaced by advertisements', async () => {
    const p = makePair({
      a: { ipv6: { addresses: [`${A6}/64`], gateway: 'fe80::99', dadDelay: 0 } },
      b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 0 } },
    });
    await dadDone(p);
    inject(p.a, ra(p, llB, 1800));
    expect(ipv6ToString(p.a.ip6!.routes.lookup(parseIpv6('2001:db9::7'))!.gateway!)).toBe('fe80::99');
  });
});
