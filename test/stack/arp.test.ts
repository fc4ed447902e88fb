import { describe, expect, it } from 'vitest';
import { in4, ArpOp, EthernetRepr, EtherType } from '../../src/wire/index.ts';
import type { Stack } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256 } from './harness.ts';

/** An Ethernet/IPv4 ARP packet from `sha`/`spa` for `tpa`, fed to `to`. */
function arp(
  to: Stack,
  op: number,
  sha: number[],
  spa: number[],
  tpa: number[],
  tha = [0, 0, 0, 0, 0, 0],
): void {
  const f = new Uint8Array(42);
  let src = 0;
  for (const b of sha) src = src * 256 + b;
  EthernetRepr.emit({ dst: 0xffffffffffff, src, vlans: [], etherType: EtherType.ARP }, f, 0);
  f.set([0, 1, 8, 0, 6, 4, 0, op], 14);
  f.set(sha, 22);
  f.set(spa, 28);
  f.set(tha, 32);
  f.set(tpa, 38);
  const m = to.pool.alloc()!;
  m.append(f);
  to.input(m);
}

const IP_C = [10, 0, 0, 3];
const KEY_C = in4(0x0a000003);

describe('ARP (arp_process)', () => {
  it('a request for us creates a STALE entry and is answered; one for another host is not', () => {
    const p = makePair();
    arp(p.b, ArpOp.REQUEST, [2, 0, 0, 0, 0, 9], IP_C, [10, 0, 0, 2]);
    expect(p.b.ipv4.arp.cache.get(KEY_C)!.state).toBe('STALE');
    expect(p.b.counters.arpRepliesOut).toBe(1);
    arp(p.b, ArpOp.REQUEST, [2, 0, 0, 0, 0, 8], [10, 0, 0, 4], [10, 0, 0, 77]);
    expect(p.b.ipv4.arp.cache.get(in4(0x0a000004))).toBeUndefined();
    expect(p.b.counters.arpRepliesOut).toBe(1);
  });

  it('gratuitous ARP updates an existing entry only (arp_accept = 0)', () => {
    const p = makePair();
    arp(p.b, ArpOp.REQUEST, [2, 0, 0, 0, 0, 7], IP_C, IP_C);
    expect(p.b.ipv4.arp.cache.get(KEY_C)).toBeUndefined();
    arp(p.b, ArpOp.REQUEST, [2, 0, 0, 0, 0, 9], IP_C, [10, 0, 0, 2]);
    arp(p.b, ArpOp.REPLY, [2, 0, 0, 0, 0, 7], IP_C, IP_C);
    expect(Array.from(p.b.ipv4.arp.cache.get(KEY_C)!.lladdr)).toEqual([2, 0, 0, 0, 0, 7]);
    expect(p.b.ipv4.arp.cache.get(KEY_C)!.state).toBe('STALE');
  });

  it('defends our address against an RFC 5227 probe and drops bogus packets', () => {
    const p = makePair();
    arp(p.b, ArpOp.REQUEST, [2, 0, 0, 0, 0, 9], [0, 0, 0, 0], [10, 0, 0, 2]);
    expect(p.b.counters.arpRepliesOut).toBe(1);
    expect(p.b.ipv4.arp.cache.entries.size).toBe(0);
    arp(p.b, ArpOp.REQUEST, [3, 0, 0, 0, 0, 9], IP_C, [10, 0, 0, 2]); // multicast sender MAC
    arp(p.b, 7, [2, 0, 0, 0, 0, 9], IP_C, [10, 0, 0, 2]); // unknown operation
    expect(p.b.counters.arpErrors).toBe(2);
    expect(p.b.ipv4.arp.cache.entries.size).toBe(0);
  });

  it('packets wait for resolution in a bounded queue and leave in order once resolved', async () => {
    const p = makePair();
    const u = p.a.net.createSocket();
    const got: string[] = [];
    const v = p.b.net.createSocket();
    v.on('message', (m: Buffer) => got.push(m.toString()));
    v.bind(9);
    p.lb.drop = (_m, i) => i === 0; // lose b's first ARP reply: a re-asks after 1 s
    const sent = Array.from({ length: 105 }, (_, i) => String(i));
    for (const s of sent) u.send(s, 9, '10.0.0.2');
    await runUntil(p, () => got.length === 101);
    // 101 packets (Linux unres_qlen from unres_qlen_bytes; RFC 4861 §7.2.2 keeps the newest).
    expect(got).toEqual(sent.slice(4));
    expect(p.a.counters.ipOutDiscards).toBe(4);
    expect(p.a.ipv4.arp.cache.counters.queueDrops).toBe(4);
    expect(p.a.counters.arpRequestsOut).toBe(2);
  });

  it('a datagram fragmented before ARP resolves arrives whole (every fragment queued)', async () => {
    const p = makePair();
    const u = p.a.net.createSocket();
    const got: Buffer[] = [];
    const v = p.b.net.createSocket();
    v.on('message', (m: Buffer) => got.push(m));
    v.bind(9);
    const data = randomBytesSeeded(60000, 7);
    u.send(data, 9, '10.0.0.2'); // 41 fragments wait for one ARP reply
    await runUntil(p, () => got.length === 1);
    expect(sha256(got[0]!)).toBe(sha256(data));
    expect(p.a.ipv4.frag.counters.fragCreates).toBe(41);
    expect(p.a.counters.ipOutDiscards).toBe(0);
  });

  it('gives up on an absent neighbour and counts the queued packet as discarded', async () => {
    const p = makePair();
    const u = p.a.net.createSocket();
    u.send('x', 9, '10.0.0.99');
    await runUntil(
      p,
      () => p.a.ipv4.arp.cache.get(in4(0x0a000063)) === undefined && p.a.counters.ipOutDiscards === 1,
    );
    expect(p.a.counters.arpRequestsOut).toBe(3);
    expect(p.a.ipv4.arp.cache.counters.failed).toBe(1);
  });
});
