// The services and clients over two stacks joined by the in-memory NetIf pair, on wall time.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  PATTERN_CHUNK,
  fillPattern,
  httpGet,
  patternChunk,
  startServices,
  tcpSend,
  type ConnReport,
  type HttpLogEntry,
} from '../../src/apps/index.ts';
import { createNetIfPair, type NetIfOffloads } from '../../src/netif/index.ts';
import { Stack, type Socket } from '../../src/stack/index.ts';
import { until } from '../support/until.ts';

const ALL: NetIfOffloads = {
  txCsum: true,
  rxCsum: true,
  tso4: true,
  tso6: true,
  tsoEcn: true,
  uso: false,
  rxGso: true,
};

function stacks(offloads: boolean): { server: Stack; client: Stack } {
  const side = offloads ? { offloads: ALL } : {};
  const { a, b } = createNetIfPair({ a: side, b: side });
  return {
    server: new Stack({ netif: a, ipv4: '10.0.0.1/24' }),
    client: new Stack({ netif: b, ipv4: '10.0.0.2/24' }),
  };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes `req` raw, collects everything until the server closes. */
function raw(client: Stack, req: string | Buffer, port = 80): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = client.net.connect({ host: '10.0.0.1', port });
    s.on('connect', () => s.write(req));
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

/** Splits concatenated responses; `hasBody[k]` false for HEAD. */
function splitResponses(resp: Buffer, hasBody: boolean[]): { head: string; body: Buffer }[] {
  const out: { head: string; body: Buffer }[] = [];
  let off = 0;
  for (const b of hasBody) {
    const end = resp.indexOf('\r\n\r\n', off);
    const head = resp.toString('latin1', off, end);
    const len = b ? Number(/Content-Length: (\d+)/.exec(head)![1]) : 0;
    out.push({ head, body: resp.subarray(end + 4, end + 4 + len) });
    off = end + 4 + len;
  }
  expect(off).toBe(resp.length);
  return out;
}

function statuses(resp: Buffer): number[] {
  return [...resp.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

describe('pattern', () => {
  it('a chunk at any offset is byte i = i mod 251', () => {
    fc.assert(
      fc.property(fc.nat(1e12), fc.integer({ min: 0, max: PATTERN_CHUNK + 10 }), (off, len) => {
        const c = patternChunk(off, len);
        expect(c.length).toBe(Math.min(len, PATTERN_CHUNK));
        for (let i = 0; i < c.length; i += 97) expect(c[i]).toBe((off + i) % 251);
        if (c.length > 0) expect(c[c.length - 1]).toBe((off + c.length - 1) % 251);
      }),
    );
    const b = fillPattern(new Uint8Array(200_000), 7);
    expect(b.every((x, i) => x === (i + 7) % 251)).toBe(true);
  });
});

describe.each([true, false])('services over the NetIf pair (offloads %s)', (offloads) => {
  it('TCP echo returns every byte; discard reports bytes and SHA-256', async () => {
    const { server, client } = stacks(offloads);
    const reports: ConnReport[] = [];
    const svc = startServices(server.net, { onClose: (r) => reports.push(r) });
    const n = 3_000_001;
    const echo = await tcpSend(client.net, { host: '10.0.0.1', port: 7, bytes: n, readBack: true });
    expect(echo.received).toBe(n);
    expect(echo.receivedSha256).toBe(echo.sha256);
    const disc = await tcpSend(client.net, { host: '10.0.0.1', port: 9, bytes: 5_000_000 });
    expect(disc.received).toBe(0);
    await until(() => reports.some((r) => r.service === 'discard'), 10_000, 'the discard report');
    const d = reports.find((r) => r.service === 'discard');
    expect(d).toMatchObject({ bytes: 5_000_000, sha256: disc.sha256, remoteAddress: '10.0.0.2' });
    expect(d!.error).toBeUndefined();
    expect(reports.find((r) => r.service === 'echo')).toMatchObject({ bytes: n, bytesWritten: n });
    expect(sha(fillPattern(new Uint8Array(5_000_000)))).toBe(disc.sha256);
    svc.close();
  });

  it('UDP echo answers each datagram to its sender', async () => {
    const { server, client } = stacks(offloads);
    const svc = startServices(server.net);
    const u = client.net.createSocket('udp4');
    const got: string[] = [];
    const done = new Promise<void>((r) =>
      u.on('message', (m: Buffer, rinfo: { address: string; port: number }) => {
        expect(rinfo).toMatchObject({ address: '10.0.0.1', port: 7 });
        got.push(m.toString());
        if (got.length === 3) r();
      }),
    );
    u.bind(0);
    for (const m of ['one', 'two', 'x'.repeat(1400)]) u.send(m, 7, '10.0.0.1');
    await done;
    expect(got.sort()).toEqual(['one', 'two', 'x'.repeat(1400)].sort());
    u.close();
    svc.close();
  });

  it('HTTP: GET / and GET /bytes/N with Content-Length and the right bytes', async () => {
    const { server, client } = stacks(offloads);
    const log: HttpLogEntry[] = [];
    const svc = startServices(server.net, { http: { onRequest: (e) => log.push(e) } });
    const root = await httpGet(client.net, { host: '10.0.0.1' });
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toMatch(/text\/html/);
    expect(root.bodyHead.toString()).toContain('<h1>ptnet-ts</h1>');
    expect(Number(root.headers['content-length'])).toBe(root.bytes);
    for (const n of [0, 1, 250, 251, 252, 65_535, 10_000_000]) {
      const r = await httpGet(client.net, { host: '10.0.0.1', path: `/bytes/${n}` });
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(n));
      expect(r.bytes).toBe(n);
      expect(r.sha256).toBe(sha(fillPattern(new Uint8Array(n))));
    }
    expect(log.map((e) => e.status)).toEqual(Array(8).fill(200));
    expect(log.at(-1)).toMatchObject({ method: 'GET', target: '/bytes/10000000', bytes: 10_000_000 });
    svc.close();
  });

  it('HTTP keep-alive with pipelining, HEAD, and Connection: close ends the connection', async () => {
    const { server, client } = stacks(offloads);
    const svc = startServices(server.net);
    const h = 'Host: u\r\n';
    const resp = await raw(
      client,
      `GET /bytes/300000 HTTP/1.1\r\n${h}\r\n\r\nHEAD /bytes/5 HTTP/1.1\r\n${h}\r\n` +
        `GET /bytes/3 HTTP/1.1\r\n${h}Connection: close\r\n\r\nGET / HTTP/1.1\r\n${h}\r\n`,
    );
    expect(statuses(resp)).toEqual([200, 200, 200]);
    const [r1, r2, r3] = splitResponses(resp, [true, false, true]);
    expect(r1!.head).toContain('Connection: keep-alive');
    expect(sha(r1!.body)).toBe(sha(fillPattern(new Uint8Array(300_000))));
    expect(r2!.head).toContain('Content-Length: 5');
    expect(r2!.body.length).toBe(0);
    expect(r3!.head).toContain('Connection: close');
    expect([...r3!.body]).toEqual([0, 1, 2]);
    svc.close();
  });

  it('HTTP answers bad requests with 400/404/405/413/431/501/505 and closes', async () => {
    const { server, client } = stacks(offloads);
    const svc = startServices(server.net, { http: { maxHeaderBytes: 1024, maxBytes: 1e6 } });
    const cases: [string, number][] = [
      ['garbage\r\n\r\n', 400],
      ['GET /x HTTP/1.1\r\nHost: u\r\n\r\n', 404],
      ['POST / HTTP/1.1\r\nHost: u\r\nContent-Length: 2\r\n\r\nab', 405],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['GET / HTTP/2.0\r\nHost: u\r\n\r\n', 505],
      ['GET / HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
      ['GET / HTTP/1.1\r\nHost: u\r\nContent-Length: 99999999\r\n\r\n', 413],
      ['GET / HTTP/1.1\r\nHost: u\r\nContent-Length: -1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: u\r\n folded\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: u\r\nX: ${'a'.repeat(2000)}\r\n\r\n`, 431],
      [`GET /${'a'.repeat(2000)}`, 431],
      ['GET /bytes/1000001 HTTP/1.1\r\nHost: u\r\n\r\n', 400],
      ['GET /bytes/1x HTTP/1.1\r\nHost: u\r\n\r\n', 400],
      ['GET http://u/ HTTP/1.1\r\nHost: u\r\n\r\n', 400],
    ];
    for (const [req, status] of cases) {
      const resp = await raw(client, req);
      expect(statuses(resp), req.slice(0, 40)).toEqual([status]);
      expect(resp.toString('latin1')).toContain('Connection: close');
    }
    if (!offloads) {
      // HTTP/1.0 needs no Host and closes unless asked to keep the connection.
      const r10 = await raw(client, 'GET /bytes/2 HTTP/1.0\r\n\r\n');
      expect(r10.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\n/);
      expect([...r10.subarray(-2)]).toEqual([0, 1]);
      // A request body is read and skipped; the next request on the connection is served.
      const two = await raw(
        client,
        'GET /bytes/1 HTTP/1.1\r\nHost: u\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.1\r\nHost: u\r\n\r\n',
      );
      expect(statuses(two)).toEqual([200, 404]);
    }
    svc.close();
  });

  it('a /bytes response waits for a slow reader instead of queueing the body', async () => {
    const { server, client } = stacks(offloads);
    const log: HttpLogEntry[] = [];
    const svc = startServices(server.net, { http: { onRequest: (e) => log.push(e) } });
    let srvSock: Socket | null = null;
    svc.http.on('connection', (s: Socket) => (srvSock = s));
    const s = client.net.connect({ host: '10.0.0.1', port: 80 });
    s.on('connect', () => s.write('GET /bytes/50000000 HTTP/1.1\r\nHost: u\r\n\r\n'));
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got > 100_000) s.pause();
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(srvSock).not.toBeNull();
    // Only what the receive buffer, the send buffer and one stream highWaterMark hold.
    expect(srvSock!.bytesWritten).toBeLessThan(2_000_000);
    expect(srvSock!.writableLength).toBeLessThanOrEqual(65_536 + PATTERN_CHUNK);
    expect(log).toHaveLength(0);
    s.destroy();
    // The reset ends the response: it is logged with what had been written so far.
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toHaveLength(1);
    expect(log[0]!.bytes).toBeGreaterThan(100_000);
    expect(log[0]!.bytes).toBeLessThan(2_000_000);
    svc.close();
  });

  it('survives random request bytes and still serves', async () => {
    const { server, client } = stacks(offloads);
    const svc = startServices(server.net, { http: { maxHeaderBytes: 512, idleMs: 50 } });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 700 }).map((b) => Buffer.from(b)),
          fc
            .tuple(
              fc.constantFrom('GET', 'HEAD', 'PUT', 'G\0T'),
              fc.string({ maxLength: 30 }),
              fc.string({ maxLength: 60 }),
            )
            .map(([m, t, h]) => Buffer.from(`${m} ${t} HTTP/1.1\r\n${h}\r\n\r\n`, 'latin1')),
        ),
        async (req) => {
          const resp = await raw(client, req);
          // Either a well-formed answer or nothing (a head still incomplete when the idle timer fired).
          if (resp.length > 0) expect(resp.toString('latin1')).toMatch(/^HTTP\/1\.1 \d{3} /);
        },
      ),
      { numRuns: 40 },
    );
    const ok = await httpGet(client.net, { host: '10.0.0.1', path: '/bytes/1000' });
    expect(ok.sha256).toBe(sha(fillPattern(new Uint8Array(1000))));
    svc.close();
  });

  it('the HTTP client reports typed errors', async () => {
    const { server, client } = stacks(offloads);
    const bad = server.net
      .createServer((s) => s.on('error', () => {}).end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
      .listen(81);
    const e1 = await httpGet(client.net, { host: '10.0.0.1', port: 81 }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AppError);
    expect((e1 as AppError).code).toBe('HTTP_TRUNCATED');
    expect((e1 as AppError).offset).toBe(3);
    bad.close();
    const junk = server.net
      .createServer((s) => s.on('error', () => {}).end('HTTX/1.1 200\r\n\r\n'))
      .listen(82);
    const e2 = await httpGet(client.net, { host: '10.0.0.1', port: 82 }).catch((e: unknown) => e);
    expect((e2 as AppError).code).toBe('HTTP_BAD_RESPONSE');
    junk.close();
    const e3 = await httpGet(client.net, { host: '10.0.0.1', port: 83 }).catch((e: unknown) => e);
    expect((e3 as { code: string }).code).toBe('ECONNREFUSED');
  });
});
