import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { in4 } from '../../src/wire/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256 } from './harness.ts';

describe('two stacks over a NetIf pair', () => {
  it('ping resolves ARP and gets an echo reply', async () => {
    const p = makePair();
    const { a, b } = p;
    let rtt = -1;
    a.ping('10.0.0.2').then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    expect(rtt).toBe(0);
    expect(a.ipv4.arp.cache.get(in4(0x0a000002))!.state).toBe('REACHABLE');
    // B answered through its STALE entry, which moved to DELAY (RFC 4861 §7.3.3).
    expect(b.ipv4.arp.cache.get(in4(0x0a000001))!.state).toBe('DELAY');
    expect(b.counters.icmpInEchos).toBe(1);
  });

  it('handshake, data both ways, orderly close', async () => {
    const p = makePair();
    const { a, b } = p;
    let server: Socket | null = null;
    const got: Buffer[] = [];
    b.net
      .createServer((s) => {
        server = s;
        s.on('data', (d: Buffer) => {
          got.push(d);
          s.write(d);
        });
        s.on('end', () => s.end());
      })
      .listen(7);
    const c = a.net.connect({ host: '10.0.0.2', port: 7 });
    let connected = false;
    const echoed: Buffer[] = [];
    let closed = false;
    c.on('connect', () => (connected = true));
    c.on('data', (d: Buffer) => echoed.push(d));
    c.on('close', () => (closed = true));
    await runUntil(p, () => connected);
    expect(c.tcpState).toBe('ESTABLISHED');
    expect(c.remoteAddress).toBe('10.0.0.2');
    expect(c.remotePort).toBe(7);
    c.write('hello');
    await runUntil(p, () => Buffer.concat(echoed).toString() === 'hello');
    expect(Buffer.concat(got).toString()).toBe('hello');
    expect(server!.remoteAddress).toBe('10.0.0.1');
    c.end();
    await runUntil(p, () => closed);
    expect(c.bytesWritten).toBe(5);
    expect(c.bytesRead).toBe(5);
  });

  it('moves 4 MiB both ways with matching SHA-256', async () => {
    const p = makePair();
    const { a, b } = p;
    const up = randomBytesSeeded(4 << 20, 7);
    const down = randomBytesSeeded(4 << 20, 9);
    const atServer: Buffer[] = [];
    const atClient: Buffer[] = [];
    let serverDone = false;
    let clientDone = false;
    b.net
      .createServer((s) => {
        s.on('data', (d: Buffer) => atServer.push(d));
        s.on('end', () => (serverDone = true));
        s.end(down);
      })
      .listen(5001);
    const c = a.net.connect({ host: '10.0.0.2', port: 5001 });
    c.on('data', (d: Buffer) => atClient.push(d));
    c.on('end', () => (clientDone = true));
    c.end(up);
    await runUntil(p, () => serverDone && clientDone);
    expect(sha256(Buffer.concat(atServer))).toBe(sha256(up));
    expect(sha256(Buffer.concat(atClient))).toBe(sha256(down));
    expect(a.tcp.counters.retransSegs).toBe(0);
  });
});
