import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RouteTable4, RouteTable6, key6 } from '../../src/stack/index.ts';
import { IN4_ANY, in4, in4Mask, in4U32, ipv4ToString, parseIn4, parseIpv6 } from '../../src/wire/index.ts';
import { makePair, runUntil } from './harness.ts';

describe('routing tables', () => {
  it('IPv4: longest prefix wins, connected routes return the destination, default the gateway', () => {
    const t = new RouteTable4();
    t.add(parseIn4('10.0.0.0'), 24);
    t.add(IN4_ANY, 0, parseIn4('10.0.0.254'));
    t.add(parseIn4('10.1.0.0'), 16, parseIn4('10.0.0.253'));
    t.add(parseIn4('10.1.2.0'), 24, parseIn4('10.0.0.252'));
    expect(t.nextHop(parseIn4('10.0.0.7'))).toBe(parseIn4('10.0.0.7'));
    expect(t.nextHop(parseIn4('10.1.9.9'))).toBe(parseIn4('10.0.0.253'));
    expect(t.nextHop(parseIn4('10.1.2.9'))).toBe(parseIn4('10.0.0.252'));
    expect(t.nextHop(parseIn4('8.8.8.8'))).toBe(parseIn4('10.0.0.254'));
    expect(t.remove(IN4_ANY, 0)).toBe(true);
    expect(t.nextHop(parseIn4('8.8.8.8'))).toBeNull();
    // Host bits in the prefix are masked off; re-adding replaces.
    t.add(parseIn4('10.1.2.77'), 24, parseIn4('10.0.0.251'));
    expect(t.nextHop(parseIn4('10.1.2.9'))).toBe(parseIn4('10.0.0.251'));
    expect(t.routes.length).toBe(3);
    expect(() => t.add(IN4_ANY, 33)).toThrow();
  });

  it('In4: the signed form converts back, and masks and matches agree with the u32 arithmetic', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    // The reference: a prefix length's mask and a match computed on u32s (2^32 - 2^(32-len)).
    const maskU32 = (len: number): number => 2 ** 32 - 2 ** (32 - len);
    const matchU32 = (dst: number, prefix: number, len: number): boolean =>
      len === 0 || Math.floor(dst / 2 ** (32 - len)) === Math.floor(prefix / 2 ** (32 - len));
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 32 }), (a, len) => {
        expect(in4U32(in4(a))).toBe(a);
        expect(parseIn4(ipv4ToString(a))).toBe(in4(a));
        expect(ipv4ToString(in4(a))).toBe(ipv4ToString(a));
        // The mask is in the signed form itself, as every In4 is (=== compares forms).
        expect(in4Mask(len)).toBe(in4(len === 0 ? 0 : maskU32(len)));
      }),
    );
    // Longest-prefix match over random tables, on addresses of either half of the space.
    const route = fc.record({ prefix: u32, len: fc.integer({ min: 0, max: 32 }), gw: fc.option(u32) });
    fc.assert(
      fc.property(
        fc.array(route, { maxLength: 12 }),
        fc.array(u32, { minLength: 1, maxLength: 8 }),
        (rs, dsts) => {
          const t = new RouteTable4();
          // The reference keeps one route per (masked prefix, length), the last added, as add() replaces.
          const ref = new Map<string, { prefix: number; len: number; gw: number | null }>();
          for (const r of rs) {
            t.add(in4(r.prefix), r.len, r.gw === null ? null : in4(r.gw));
            const key = `${Math.floor(r.prefix / 2 ** (32 - r.len))}/${r.len}`;
            ref.set(key, { prefix: r.prefix, len: r.len, gw: r.gw });
          }
          for (const d of dsts) {
            let best: { len: number; gw: number | null } | null = null;
            for (const r of ref.values())
              if (matchU32(d, r.prefix, r.len) && (best === null || r.len > best.len)) best = r;
            const hop = t.nextHop(in4(d));
            if (best === null) expect(hop).toBeNull();
            else expect(in4U32(hop!)).toBe(best.gw ?? d);
          }
        },
      ),
    );
  });

  it('IPv6: longest prefix at non-byte boundaries, default route', () => {
    const t = new RouteTable6();
    t.add(parseIpv6('2001:db8::'), 32);
    t.add(parseIpv6('2001:db8:ff00::'), 40, parseIpv6('fe80::1'));
    t.add(parseIpv6('::'), 0, parseIpv6('fe80::2'));
    const out = new Uint8Array(16);
    expect(t.nextHop(parseIpv6('2001:db8:1::5'), 0, out)).toBe(true);
    expect(key6(out)).toBe(key6(parseIpv6('2001:db8:1::5')));
    t.nextHop(parseIpv6('2001:db8:ff12::5'), 0, out);
    expect(key6(out)).toBe(key6(parseIpv6('fe80::1')));
    t.nextHop(parseIpv6('2001:db8:fe12::5'), 0, out);
    expect(key6(out)).toBe(key6(parseIpv6('2001:db8:fe12::5')));
    t.nextHop(parseIpv6('2002::1'), 0, out);
    expect(key6(out)).toBe(key6(parseIpv6('fe80::2')));
    // A destination read in place from a packet (offset 24 of an IPv6 header): the on-link next
    // hop is those 16 bytes, not the packet's first 16.
    const pkt = new Uint8Array(40).fill(0xee);
    pkt.set(parseIpv6('2001:db8:1::9'), 24);
    expect(t.nextHop(pkt, 24, out)).toBe(true);
    expect(key6(out)).toBe(key6(parseIpv6('2001:db8:1::9')));
    t.remove(parseIpv6('::'), 0);
    expect(t.nextHop(parseIpv6('2002::1'), 0, out)).toBe(false);
    expect(() => t.add(parseIpv6('::'), 129)).toThrow();
  });

  it('off-link IPv4 traffic resolves the gateway, not the destination; no route is counted', async () => {
    const p = makePair({ a: { gateway: '10.0.0.2' } });
    p.a.net.createSocket().send('x', 9, '192.0.2.1');
    await runUntil(p, () => p.a.ipv4.arp.cache.get(parseIn4('10.0.0.2'))?.state === 'REACHABLE');
    expect(p.a.ipv4.arp.cache.get(parseIn4('192.0.2.1'))).toBeUndefined();
    // B received the datagram for another address (it is no router): counted, not delivered.
    await runUntil(p, () => p.b.counters.ipInAddrErrors === 1);
    p.b.ipv4.routes.remove(IN4_ANY, 0);
    p.b.net.createSocket().send('x', 9, '192.0.2.1', (err) => expect(err).not.toBeNull());
  });

  it('off-link IPv6 traffic goes to the default router through NDP', async () => {
    const p = makePair({
      a: { ipv6: { addresses: ['2001:db8::1/64'], gateway: '2001:db8::2', dadDelay: 0 } },
      b: { ipv6: { addresses: ['2001:db8::2/64'], dadDelay: 0 } },
    });
    await runUntil(p, () => [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state === 'PREFERRED')));
    p.a.net.createSocket().send('x', 9, '2001:db8:99::1');
    await runUntil(p, () => p.a.ip6!.nd.get(key6(parseIpv6('2001:db8::2')))?.state === 'REACHABLE');
    await runUntil(p, () => p.b.ip6!.counters.inAddrErrors === 1);
    expect(p.a.ip6!.nd.get(key6(parseIpv6('2001:db8:99::1')))).toBeUndefined();
    let err: { code?: string } | null = null;
    p.b.net.createSocket().send('x', 9, '2001:db8:99::1', (e) => (err = e as { code?: string } | null));
    await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ENETUNREACH');
    expect(p.b.ip6!.counters.outNoRoutes).toBe(1);
  });

  describe('the IPv4 dst cache (sk_dst_cache + neigh_output)', () => {
    /** A 60-byte frame for ipv4.transmitFrame, as output() would hand it on. */
    function frame(p: ReturnType<typeof makePair>) {
      const m = p.a.pool.alloc()!;
      m.append(new Uint8Array(60));
      return m;
    }
    const B = parseIn4('10.0.0.2');
    const macOf = (p: ReturnType<typeof makePair>) => Array.from(p.b.netif.mac);

    async function resolved() {
      const p = makePair();
      p.a.net.createSocket().send('x', 9, '10.0.0.2');
      await runUntil(p, () => p.a.ipv4.arp.cache.get(B)?.state === 'REACHABLE');
      // The next frame to B is sent through the cache: no ARP, B's MAC.
      const arp = p.a.counters.arpRequestsOut;
      const seen: number[][] = [];
      p.la.drop = (m) => (seen.push(Array.from(m.pool.data.subarray(m.dataOffset, m.dataOffset + 6))), false);
      p.a.ipv4.transmitFrame(frame(p), B);
      expect(seen).toEqual([macOf(p)]);
      expect(p.a.counters.arpRequestsOut).toBe(arp);
      return { p, seen, arp };
    }

    it('a deleted neighbour is resolved again, never sent to from the cache', async () => {
      const { p, seen, arp } = await resolved();
      p.a.ipv4.arp.cache.delete(B);
      p.a.ipv4.transmitFrame(frame(p), B);
      // The frame waits for ARP instead of going to the old entry's MAC: only the broadcast
      // request leaves.
      expect(seen).toEqual([macOf(p), [255, 255, 255, 255, 255, 255]]);
      expect(p.a.counters.arpRequestsOut).toBe(arp + 1);
      expect(p.a.ipv4.arp.cache.get(B)!.state).toBe('INCOMPLETE');
    });

    it('a route change invalidates the cached destination', async () => {
      const { p, seen } = await resolved();
      const noRoute = p.a.counters.ipOutNoRoutes;
      p.a.ipv4.routes.remove(parseIn4('10.0.0.0'), 24);
      p.a.ipv4.transmitFrame(frame(p), B);
      expect(seen.length).toBe(1);
      expect(p.a.counters.ipOutNoRoutes).toBe(noRoute + 1);
    });

    it('past its reachable time the entry goes through the state machine (DELAY)', async () => {
      const { p, seen } = await resolved();
      const e = p.a.ipv4.arp.cache.get(B)!;
      e.reachableUntil = p.a.ipv4.now();
      p.a.ipv4.transmitFrame(frame(p), B);
      expect(seen.length).toBe(2);
      expect(e.state).toBe('DELAY');
    });
  });

  describe('the IPv6 dst cache', () => {
    const B6 = parseIpv6('2001:db8::2');
    async function resolved6() {
      const p = makePair({
        a: { ipv6: { addresses: ['2001:db8::1/64'], dadDelay: 0 } },
        b: { ipv6: { addresses: ['2001:db8::2/64'], dadDelay: 0 } },
      });
      await runUntil(p, () =>
        [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state === 'PREFERRED')),
      );
      p.a.net.createSocket().send('x', 9, '2001:db8::2');
      await runUntil(p, () => p.a.ip6!.nd.get(key6(B6))?.state === 'REACHABLE');
      const seen: number[][] = [];
      p.la.drop = (m) => (seen.push(Array.from(m.pool.data.subarray(m.dataOffset, m.dataOffset + 6))), false);
      const frame = () => {
        const m = p.a.pool.alloc()!;
        m.append(new Uint8Array(80));
        return m;
      };
      p.a.ip6!.routeFrame(frame(), B6);
      expect(seen).toEqual([Array.from(p.b.netif.mac)]);
      return { p, seen, frame };
    }

    it('a deleted neighbour is solicited again, never sent to from the cache', async () => {
      const { p, seen, frame } = await resolved6();
      const ns = p.a.ip6!.ndpCounters.nsOut;
      p.a.ip6!.nd.delete(key6(B6));
      p.a.ip6!.routeFrame(frame(), B6);
      // Only the multicast solicitation leaves (33:33:ff:…), not the frame to B's old MAC.
      expect(seen.length).toBe(2);
      expect(seen[1]!.slice(0, 3)).toEqual([0x33, 0x33, 0xff]);
      expect(p.a.ip6!.ndpCounters.nsOut).toBe(ns + 1);
    });

    it('a route change invalidates the cached destination', async () => {
      const { p, seen, frame } = await resolved6();
      const noRoute = p.a.ip6!.counters.outNoRoutes;
      p.a.ip6!.routes.remove(parseIpv6('2001:db8::'), 64);
      p.a.ip6!.routeFrame(frame(), B6);
      expect(seen.length).toBe(1);
      expect(p.a.ip6!.counters.outNoRoutes).toBe(noRoute + 1);
    });
  });
});
