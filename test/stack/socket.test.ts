import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { makePair, runUntil } from './harness.ts';

describe('node:net semantics', () => {
  it('end() right after connect() connects first, then sends FIN', async () => {
    const p = makePair();
    let ended = false;
    p.b.net
      .createServer((s) => {
        s.on('data', () => {});
        s.on('end', () => (ended = true));
      })
      .listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    c.on('data', () => {});
    c.end();
    await runUntil(p, () => ended);
    expect(p.a.tcp.counters.activeOpens).toBe(1);
  });

  it("server.close() waits for its connections; getConnections counts them; 'close' events fire", async () => {
    const p = makePair();
    let sock: Socket | null = null;
    const srv = p.b.net.createServer((s) => {
      sock = s;
      s.on('data', () => {});
    });
    srv.listen(80);
    let listening = false;
    srv.on('listening', () => (listening = true));
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    c.on('data', () => {});
    await runUntil(p, () => sock !== null && listening);
    let count = -1;
    srv.getConnections((_e, n) => (count = n));
    await runUntil(p, () => count >= 0);
    expect(count).toBe(1);
    let closed = false;
    srv.close(() => (closed = true));
    await runUntil(p, () => srv.address() === null);
    expect(closed).toBe(false);
    // New connections are refused now.
    const d = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    let err = '';
    d.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? ''));
    await runUntil(p, () => err !== '');
    expect(err).toBe('ECONNREFUSED');
    let cClosed = false;
    c.on('close', () => (cClosed = true));
    c.end();
    sock!.on('end', () => sock!.end());
    await runUntil(p, () => closed && cClosed);
  });

  it('EADDRINUSE for a second listener; address() and readyState', async () => {
    const p = makePair();
    p.b.net.createServer().listen(80);
    const s2 = p.b.net.createServer();
    let err = '';
    s2.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? ''));
    s2.listen(80);
    await runUntil(p, () => err !== '');
    expect(err).toBe('EADDRINUSE');
    const c = p.a.net.connect(80, '10.0.0.2');
    expect(c.readyState).toBe('opening');
    await runUntil(p, () => !c.connecting);
    expect(c.readyState).toBe('open');
    expect(c.address()).toEqual({ address: '10.0.0.1', family: 'IPv4', port: c.localPort });
  });
});

describe('orphans', () => {
  it('a destroyed socket finishes its FIN exchange alone; FIN-WAIT-2 is bounded by finTimeout', async () => {
    const p = makePair({ a: { tcp: { finTimeout: 5000 } } });
    let server: Socket | null = null;
    p.b.net
      .createServer(
        (s) => {
          server = s;
          s.on('data', () => {});
        },
        { allowHalfOpen: true },
      )
      .listen(80, 8);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80, allowHalfOpen: true });
    c.on('data', () => {});
    await runUntil(p, () => server !== null && !c.connecting);
    const t = c.tcb!;
    let finished = false;
    c.on('finish', () => (finished = true));
    c.end();
    await runUntil(p, () => finished && t.state === 'FIN-WAIT-2');
    c.destroy();
    expect(t.user).toBeNull();
    // The peer never closes its side: after finTimeout the orphan is gone.
    const el = await runUntil(p, () => t.state === 'CLOSED');
    expect(el).toBeGreaterThanOrEqual(4900);
    expect(el).toBeLessThanOrEqual(5100);
    expect(p.a.tcp.connectionCount).toBe(0);
  });

  // tcp_orphan_retries: a connection no application holds gives up on a vanished peer after 8
  // retransmissions while its RTO still grows, at once when the RTO is at its ceiling; one that a
  // socket holds keeps tcp_retries2 (maxRetries).
  it.each([
    ['an orphan', true, 8],
    ['a connection its socket holds', false, 15],
  ])('%s sending into a vanished peer gives up after %s… retransmissions', async (_, orphan, want) => {
    const p = makePair();
    let server: Socket | null = null;
    p.b.net.createServer((s) => (server = s)).listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    let err = '';
    c.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? ''));
    await runUntil(p, () => server !== null && !c.connecting);
    const t = c.tcb!;
    // The peer goes silent, then the application writes and (for the orphan) closes.
    p.la.drop = () => true;
    c.write(new Uint8Array(20_000));
    if (orphan) c.destroy();
    expect(t.user === null).toBe(orphan);
    const el = await runUntil(p, () => t.state === 'CLOSED', 3_600_000);
    expect(p.a.tcp.counters.timeouts).toBe(want);
    expect(p.a.tcp.connectionCount).toBe(0);
    if (!orphan) expect(err).toBe('ETIMEDOUT');
    // 200 ms doubling: 8 timeouts take 200·(2^9 − 1) ms ≈ 102 s; 15 reach the 120 s ceiling.
    if (orphan) expect(el).toBeLessThan(120_000);
    else expect(el).toBeGreaterThan(600_000);
  });

  it('an orphan whose RTO has reached its ceiling gives up at the next timeout', async () => {
    const p = makePair({ a: { tcp: { maxRto: 1000 } } });
    let server: Socket | null = null;
    p.b.net.createServer((s) => (server = s)).listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => server !== null && !c.connecting);
    const t = c.tcb!;
    p.la.drop = () => true;
    c.write(new Uint8Array(20_000));
    // 200, 400, 800, then 1000 ms: at the ceiling after three timeouts.
    await runUntil(p, () => p.a.tcp.counters.timeouts === 3);
    expect(t.rto.rto).toBe(1000);
    c.destroy();
    await runUntil(p, () => t.state === 'CLOSED', 60_000);
    expect(p.a.tcp.counters.timeouts).toBe(3);
  });
});
