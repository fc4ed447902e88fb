// IPv4 addresses from 128.0.0.0 up (192.168/16, 172.16/12: most private networks) are numbers in
// [2^31, 2^32), where a 32-bit operation gives a negative result and a number stops being a small
// integer to V8, so the stack holds them as signed int32 (In4). Every other test of the stack runs
// on 10/8; these run its paths on such addresses, where a u32 met somewhere by an In4 would not
// compare equal: TCP with a snapshot and restore in the middle, UDP with fragments, a connected UDP
// socket, a directed broadcast, echo, ARP, ICMP errors about our datagrams, a gateway, and the
// addresses the sockets report.
import { describe, expect, it } from 'vitest';
import { createNetIfPair } from '../../src/netif/index.ts';
import {
  Stack,
  VirtualClock,
  captureStack,
  decodeSnapshot,
  encodeSnapshot,
  restoreStack,
  type Socket,
} from '../../src/stack/index.ts';
import { NetIfShell } from '../../src/unikernel/index.ts';
import { parseIn4 } from '../../src/wire/index.ts';
import { fragNeeded4, inject } from './ip-frames.ts';
import { LossyNetIf, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';

const KEY = new Uint8Array(32).fill(3);

function world(a: string, b: string, gateway?: string): Pair & { shell: NetIfShell } {
  const clock = new VirtualClock(1000);
  const pair = createNetIfPair();
  const la = new LossyNetIf(pair.a);
  const lb = new LossyNetIf(pair.b);
  const shell = new NetIfShell(la);
  const A = new Stack({ netif: shell, ipv4: a, time: clock, isnKey: KEY, ...(gateway ? { gateway } : {}) });
  const B = new Stack({ netif: lb, ipv4: b, time: clock, isnKey: KEY.map((x) => x ^ 0xff) });
  return { clock, a: A, b: B, la, lb, shell };
}

describe.each([
  ['192.168/16', '192.168.200.1/24', '192.168.200.254/24', '192.168.200.255'],
  ['172.16/12', '172.31.255.1/20', '172.31.240.7/20', '172.31.255.255'],
  ['the last unicast block', '223.255.255.1/30', '223.255.255.2/30', '223.255.255.3'],
])('IPv4 at %s', (_, aCidr, bCidr, bcast) => {
  const A = aCidr.split('/')[0]!;
  const B = bCidr.split('/')[0]!;

  it('TCP captured and restored mid-stream: intact, addresses reported as given', async () => {
    const w = world(aCidr, bCidr);
    const data = randomBytesSeeded(1_500_000, 5);
    const got: Buffer[] = [];
    let server: Socket | undefined;
    const take = (s: Socket): void => {
      server = s;
      s.on('data', (d: Buffer) => got.push(Buffer.from(d)));
      s.on('end', () => s.end());
    };
    w.a.net.createServer(take).listen(5000);
    const c = w.b.net.connect({ host: A, port: 5000 });
    c.on('connect', () => c.end(data));
    c.resume();
    await runUntil(w, () => got.reduce((n, d) => n + d.length, 0) >= 500_000);
    expect(c.remoteAddress).toBe(A);
    expect(c.localAddress).toBe(B);
    expect(server!.remoteAddress).toBe(B);
    expect(server!.localAddress).toBe(A);
    // A's NIC goes away; its state goes through the codec into a fresh stack on the same link.
    w.shell.unplug();
    const back = decodeSnapshot(encodeSnapshot(captureStack(w.a)));
    expect(back.connections).toHaveLength(1);
    const a2 = new Stack({ netif: new NetIfShell(w.la, back.mac), ipv4: aCidr, time: w.clock });
    const r = restoreStack(a2, back);
    expect(r.sockets).toHaveLength(1);
    expect(r.sockets[0]!.remoteAddress).toBe(B);
    take(r.sockets[0]!);
    let closed = false;
    c.on('close', () => (closed = true));
    await runUntil({ ...w, a: a2 }, () => closed);
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    expect(a2.tcp.counters.outRsts + w.b.tcp.counters.outRsts).toBe(0);
  });

  it('UDP in fragments, a directed broadcast, and echo', async () => {
    const w = world(aCidr, bCidr);
    const got: { m: Buffer; from: string }[] = [];
    w.b.net
      .createSocket('udp4')
      .bind(7)
      .on('message', (m: Buffer, rinfo: { address: string }) => got.push({ m, from: rinfo.address }));
    const big = randomBytesSeeded(5000, 6);
    const u = w.a.net.createSocket('udp4').bind();
    u.send(big, 7, B);
    await runUntil(w, () => got.length === 1);
    expect(Buffer.compare(got[0]!.m, big)).toBe(0);
    expect(got[0]!.from).toBe(A);
    expect(w.b.ipv4.frag.reasm.counters.oks).toBe(1);
    u.setBroadcast(true);
    u.send('to all', 7, bcast);
    await runUntil(w, () => got.length === 2);
    expect(got[1]!.m.toString()).toBe('to all');
    let rtt = -1;
    void w.a.ping(B).then((t) => (rtt = t));
    await runUntil(w, () => rtt >= 0);
    expect(w.a.counters.arpRequestsOut).toBe(1);
    expect(w.b.counters.icmpInEchos).toBe(1);
  });
  it("a connected UDP socket takes its peer's datagrams and no one else's", async () => {
    const w = world(aCidr, bCidr);
    const echo = w.b.net.createSocket('udp4').bind(7);
    echo.on('message', (m: Buffer, r: { address: string; port: number }) => echo.send(m, r.port, r.address));
    const got: string[] = [];
    const c = w.a.net.createSocket('udp4').bind(4000);
    c.on('message', (m: Buffer) => got.push(m.toString()));
    c.connect(7, B);
    await new Promise((r) => c.once('connect', r));
    c.send('one');
    await runUntil(w, () => got.length === 1);
    // The same address from another port is not the peer: dropped and counted.
    const noPorts = w.a.counters.udpNoPorts;
    w.b.net.createSocket('udp4').bind(8).send('stranger', 4000, A);
    await runUntil(w, () => w.a.counters.udpNoPorts === noPorts + 1);
    c.send('two');
    await runUntil(w, () => got.length === 2);
    expect(got).toEqual(['one', 'two']);
  });

  it('ICMP about our own datagrams: a lowered path MTU, a reassembly that timed out', async () => {
    const w = world(aCidr, bCidr);
    const got: Buffer[] = [];
    w.b.net
      .createSocket('udp4')
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const u = w.a.net.createSocket('udp4').bind();
    u.send('resolve', 7, B);
    await runUntil(w, () => got.length === 1);
    // A report quoting a datagram A sent lowers A's path MTU towards B; one quoting another
    // source is not about A's traffic.
    const errs = w.a.ipv4.icmp.errors.counters;
    inject(w.a, fragNeeded4(w.b, w.a, 1000, w.b.addr ^ 1, w.b.addr));
    expect(errs.notOurs).toBe(1);
    inject(w.a, fragNeeded4(w.b, w.a, 1000, w.a.addr, w.b.addr));
    expect(errs.fragNeededApplied).toBe(1);
    expect(w.a.ipv4.pmtu.get(parseIn4(B), w.clock.now())).toBe(1000);
    const data = randomBytesSeeded(1400, 8);
    u.send(data, 7, B);
    await runUntil(w, () => got.length === 2);
    expect(Buffer.compare(got[1]!, data)).toBe(0);
    expect(w.a.ipv4.frag.counters.fragCreates).toBe(2);
    // B loses the second fragment of the next one: B's reassembly times out and it tells A,
    // which takes the report as about its own datagram.
    let n = 0;
    w.la.drop = (m) => m.length > 100 && ++n === 2;
    u.send(randomBytesSeeded(1400, 9), 7, B);
    await runUntil(w, () => errs.timeExceededIn === 1);
    expect(w.b.ipv4.frag.counters.timeExceededOut).toBe(1);
    expect(errs.notOurs).toBe(1);
  });
});

describe('IPv4 behind a gateway at 192.168.0.1', () => {
  it('sends off-link traffic to the gateway and answers from 192.168.0.2', async () => {
    // B is the gateway: a datagram to 203.0.113.9 leaves A addressed to B's MAC, and B, no router,
    // drops it (not its address) while A's ARP asked for the gateway, not for 203.0.113.9.
    const w = world('192.168.0.2/24', '192.168.0.1/24', '192.168.0.1');
    const frames: Uint8Array[] = [];
    w.la.drop = (m) => {
      const f = new Uint8Array(m.length);
      m.copyTo(f);
      frames.push(f);
      return false;
    };
    w.a.net.createSocket('udp4').bind().send('off link', 9, '203.0.113.9');
    await runUntil(w, () => w.b.counters.ipInAddrErrors === 1);
    const udp = frames.find((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17)!;
    expect(Buffer.from(udp.subarray(0, 6))).toEqual(Buffer.from(w.b.netif.mac));
    expect([...udp.subarray(26, 34)]).toEqual([192, 168, 0, 2, 203, 0, 113, 9]);
    const arp = frames.find((f) => f[12] === 0x08 && f[13] === 0x06)!;
    expect([...arp.subarray(38, 42)]).toEqual([192, 168, 0, 1]);
  });
});
