// The delayed-ACK timer is kept armed when an ACK leaves with data (inet_csk_clear_xmit_timer):
// a later segment owed an ACK is still answered delAck after it, not when the kept timer was due.
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { makePair, runUntil } from './harness.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('delayed ACK with a kept timer', () => {
  it('a segment after an answered request is ACKed delAck (40 ms) after it, once', async () => {
    const p = makePair();
    let served = 0;
    p.b.net
      .createServer((s: Socket) => {
        // Answers the first request only: its ACK leaves with the answer.
        s.on('data', (d: Buffer) => {
          if (served++ === 0) s.write(d);
        });
      })
      .listen(9);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 9 });
    c.setNoDelay(true);
    let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    let connected = false;
    c.once('connect', () => (connected = true));
    await runUntil(p, () => connected);
    c.write(Buffer.from([1]));
    await runUntil(p, () => got === 1);
    const t0 = p.clock.now();
    // The kept timer is due at t0 + 40; the next request comes 30 ms later and is owed its ACK
    // at t0 + 70.
    p.clock.advance(30);
    c.write(Buffer.from([2]));
    for (let i = 0; i < 4; i++) await tick();
    expect(served).toBe(2);
    const sent: number[] = [];
    p.lb.drop = () => {
      sent.push(p.clock.now());
      return false;
    };
    for (let ms = 0; ms < 80; ms++) {
      p.clock.advance(1);
      await tick();
    }
    expect(sent).toEqual([t0 + 70]);
    c.destroy();
  });
});
