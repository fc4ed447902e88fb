import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { parseIpv6 } from '../../src/wire/index.ts';
import { A6, B6, frame6, inject, pair6 } from './ip-frames.ts';
import { randomBytesSeeded, runUntil, sha256 } from './harness.ts';

describe('TCP over IPv6 between two stacks', () => {
  it('handshake, 1 MiB both ways with matching SHA-256, orderly close', async () => {
    const p = await pair6();
    const up = randomBytesSeeded(1 << 20, 11);
    const down = randomBytesSeeded(1 << 20, 12);
    const atServer: Buffer[] = [];
    let server: Socket | null = null;
    p.b.net
      .createServer((s) => {
        server = s;
        s.on('data', (d: Buffer) => atServer.push(d));
        s.on('end', () => s.end(down));
      })
      .listen(8080);
    const atClient: Buffer[] = [];
    let closed = false;
    const c = p.a.net.connect({ host: B6, port: 8080 });
    c.on('data', (d: Buffer) => atClient.push(d));
    c.on('close', () => (closed = true));
    c.end(up);
    await runUntil(p, () => closed);
    expect(sha256(Buffer.concat(atServer))).toBe(sha256(up));
    expect(sha256(Buffer.concat(atClient))).toBe(sha256(down));
    expect(c.remoteAddress).toBe(B6);
    expect(c.remoteFamily).toBe('IPv6');
    expect(c.localAddress).toBe(A6);
    expect(server!.remoteAddress).toBe(A6);
    // Segments were full-sized for IPv6: MSS 1440.
    expect(p.a.tcp6!.counters).toBeDefined();
    expect(p.a.ip6!.counters.fragCreates).toBe(0);
  });

  it('a closed port answers RST: ECONNREFUSED; an unroutable host is ENETUNREACH', async () => {
    const p = await pair6();
    let err: { code?: string } | null = null;
    p.a.net.connect({ host: B6, port: 1 }).on('error', (e: { code?: string }) => (err = e));
    await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ECONNREFUSED');
    err = null;
    p.a.net.connect({ host: '2001:db9::1', port: 1 }).on('error', (e: { code?: string }) => (err = e));
    await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ENETUNREACH');
  });

  it('a packet too big quoting an in-window segment lowers the connection MSS', async () => {
    const p = await pair6();
    p.b.net.createServer(() => {}).listen(80);
    const c = p.a.net.connect({ host: B6, port: 80 });
    await runUntil(p, () => !c.connecting);
    const t = c.tcb!;
    expect(t.sendMss).toBe(1440);
    // Data in flight (B's ACKs are lost), so SND.UNA is inside [SND.UNA, SND.MAX).
    p.lb.drop = () => true;
    c.write(Buffer.alloc(4000));
    await runUntil(p, () => t.snd.max !== t.snd.una);
    // A router's PTB (here from B's address) quoting A's segment header: ports and SND.UNA.
    const quoted = new Uint8Array(40 + 20);
    quoted[0] = 0x60;
    quoted[5] = 20;
    quoted[6] = 6;
    quoted[7] = 64;
    quoted.set(parseIpv6(A6), 8);
    quoted.set(parseIpv6(B6), 24);
    const tcp = 40;
    quoted[tcp] = t.lport >> 8;
    quoted[tcp + 1] = t.lport & 0xff;
    quoted[tcp + 3] = 80;
    const una = t.snd.una;
    quoted.set([una >>> 24, (una >>> 16) & 255, (una >>> 8) & 255, una & 255], tcp + 4);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = 2;
    icmp[6] = 1300 >> 8;
    icmp[7] = 1300 & 0xff;
    icmp.set(quoted, 8);
    inject(p.a, frame6(p.a, p.b, B6, A6, 58, icmp, 64, { at: 2, l4: 0, proto: 58 }));
    expect(p.a.ip6!.counters.ptbApplied).toBe(1);
    expect(t.sendMss).toBe(1300 - 60);
  });
});
