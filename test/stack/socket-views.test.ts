// The socket emits views of the TCP receive buffer, not copies: what the application was given
// must keep its bytes while the connection goes on receiving (the chunks it sits in are retired,
// never rewritten), in flowing mode and with paused read(n) alike.
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { makePair, runUntil } from './harness.ts';

/** Bytes that are not periodic, so data landing at another chunk's place would show. */
function stream(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0, x = 99; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('socket receive views', () => {
  it("'data' buffers keep their bytes while megabytes more arrive", async () => {
    const p = makePair();
    const data = stream(3 << 20);
    const kept: Buffer[] = [];
    let got = 0;
    p.b.net
      .createServer((s) =>
        s.on('data', (b: Buffer) => {
          kept.push(b);
          got += b.length;
        }),
      )
      .listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    c.end(data);
    await runUntil(p, () => got === data.length);
    // Views, not copies: they share the receive buffer's chunks.
    expect(kept.some((b) => b.buffer.byteLength > b.length)).toBe(true);
    expect(Buffer.concat(kept).equals(data)).toBe(true);
  });

  it('paused read(n) of odd sizes and setEncoding see the stream intact, and the window reopens', async () => {
    const p = makePair();
    const data = stream(1 << 20);
    let srv: Socket | null = null;
    p.b.net.createServer((s) => (srv = s)).listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    c.end(data);
    await runUntil(p, () => srv !== null);
    const s = srv!;
    s.pause();
    const parts: Buffer[] = [];
    let n = 0;
    let ended = false;
    s.on('end', () => (ended = true));
    // The first half in odd amounts, which node serves by joining and cutting the views.
    await runUntil(p, () => {
      for (let b = s.read(1 + (n % 7919)) as Buffer | null; b !== null; b = s.read(1 + (n % 7919))) {
        parts.push(b);
        n += b.length;
      }
      return n >= data.length / 2;
    });
    // The rest as latin1 strings, flowing.
    s.setEncoding('latin1');
    s.on('data', (t: string) => {
      parts.push(Buffer.from(t, 'latin1'));
      n += t.length;
    });
    s.resume();
    await runUntil(p, () => ended);
    expect(n).toBe(data.length);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});
