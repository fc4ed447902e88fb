import { describe, expect, it } from 'vitest';
import type { MemNetIf } from '../../src/netif/index.ts';
import { A6, B6 } from './ip-frames.ts';
import { makePair, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';
import { in4 } from '../../src/wire/index.ts';

const ALL = { txCsum: true, rxCsum: true, tso4: true, tso6: true, rxGso: true };

async function pair6Offloads(): Promise<Pair> {
  const p = makePair({
    pair: { a: { offloads: ALL }, b: { offloads: ALL } },
    a: { ipv6: { addresses: [`${A6}/64`], dadDelay: 0 } },
    b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 0 } },
  });
  await runUntil(p, () => [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state === 'PREFERRED')));
  return p;
}

describe('IPv6 with offloads', () => {
  it('TCPv6 TSO super-frames (GSO_TCPV6 + NEEDS_CSUM) carry a stream intact', async () => {
    const p = await pair6Offloads();
    const data = randomBytesSeeded(2 << 20, 21);
    const got: Buffer[] = [];
    let done = false;
    p.b.net
      .createServer((s) => {
        s.on('data', (d: Buffer) => got.push(d));
        s.on('end', () => (done = true));
      })
      .listen(5001);
    p.a.net.connect({ host: B6, port: 5001 }).end(data);
    await runUntil(p, () => done, 3_600_000);
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    const tx = p.la.inner as MemNetIf;
    expect(tx.dropOffload).toBe(0);
    expect(tx.txPackets).toBeLessThan(600);
    // Super-frames over 2 KiB pool segments arrive chained: the payload went from the chains
    // straight into the receive buffer, none was linearised.
    expect(p.b.counters.rxLinearised).toBe(0);
  });

  it('UDPv6 with NEEDS_CSUM, and fragmented datagrams whose checksum is completed in software', async () => {
    const p = await pair6Offloads();
    const got: Buffer[] = [];
    p.b.net
      .createSocket('udp6')
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const small = randomBytesSeeded(1000, 1);
    const big = randomBytesSeeded(5000, 2);
    const s = p.a.net.createSocket('udp6');
    s.send(small, 7, B6);
    s.send(big, 7, B6);
    await runUntil(p, () => got.length === 2);
    expect(Buffer.compare(got[0]!, small)).toBe(0);
    expect(Buffer.compare(got[1]!, big)).toBe(0);
    expect(p.b.counters.udpInCsumErrors).toBe(0);
    expect((p.la.inner as MemNetIf).dropOffload).toBe(0);
  });

  it('IPv4 datagrams over a lowered path MTU: NEEDS_CSUM completed before fragmenting', async () => {
    const p = makePair({ pair: { a: { offloads: ALL }, b: { offloads: ALL } } });
    p.a.ipv4.pmtu.update(in4(0x0a000002), 1000, p.clock.now());
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const data = randomBytesSeeded(1400, 3);
    p.a.net.createSocket().send(data, 7, '10.0.0.2');
    await runUntil(p, () => got.length === 1);
    expect(Buffer.compare(got[0]!, data)).toBe(0);
    expect(p.a.ipv4.frag.counters.fragCreates).toBe(2);
    expect(p.b.counters.udpInCsumErrors).toBe(0);
  });
});
