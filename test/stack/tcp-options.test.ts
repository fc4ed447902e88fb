// Issue 14 item 5: a malformed TCP option list (truncated, an option of length 0 or 1) ends the
// option walk and the segment is accepted with what came before, as Linux's tcp_parse_options()
// does, for SYNs and data segments alike.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTcpOptionsLenient } from '../../src/stack/index.ts';
import { TcpFlags, TcpOptions, parseTcpOptions } from '../../src/wire/index.ts';
import { PEER, SUT, handshake, opt, scriptedPeer } from './tcp-peer.ts';
import { pair4 } from './harness.ts';

const { SYN, ACK, PSH } = TcpFlags;

async function synAckFor(opts: number[]) {
  const peer = await scriptedPeer();
  peer.p.b.net.createServer(() => {}).listen(80);
  peer.send({ seq: 5000, flags: SYN, window: 29200, opts });
  const r = peer.take();
  return { r, peer };
}

describe('lenient option parsing (issue 14 item 5)', () => {
  it('SYN with a timestamp option of length 0: SYN-ACK with the options before it', async () => {
    const { r, peer } = await synAckFor([...opt.mss(1400), ...opt.sackOk(), ...opt.wscale(7), 8, 0, 0, 0]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ flags: SYN | ACK, ack: 5001, mss: 1460, sackPermitted: true, ts: null });
    expect(r[0]!.wscale).toBeGreaterThanOrEqual(0);
    expect(peer.p.b.tcp.counters.badOptions).toBe(1);
    expect(peer.p.b.tcp.counters.inErrs).toBe(0);
    // The MSS before the fault was taken: b will send 1400-byte segments.
    expect(peer.p.b.tcp.lookup(pair4(SUT, PEER), 80, 40000)!.sendMss).toBe(1400);
  });

  it('SYN with a truncated list (a timestamp claiming 10 bytes, 2 left): SYN-ACK without timestamps', async () => {
    const { r } = await synAckFor([...opt.mss(1460), 1, 1, 8, 10]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      flags: SYN | ACK,
      ack: 5001,
      mss: 1460,
      ts: null,
      sackPermitted: false,
      wscale: -1,
    });
  });

  it('SYN with an option of length 1 after a timestamp: the timestamp is echoed', async () => {
    const { r } = await synAckFor([...opt.mss(1460), ...opt.ts(777, 0), 30, 1, 0, 0]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ flags: SYN | ACK, ack: 5001 });
    expect(r[0]!.ts![1]).toBe(777);
  });

  it('SYN with a known option of the wrong length (a 6-byte timestamp): skipped, the walk goes on', async () => {
    const { r, peer } = await synAckFor([...opt.mss(1460), 8, 6, 0, 0, 0, 1, 1, 1, ...opt.sackOk()]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ flags: SYN | ACK, ts: null, sackPermitted: true });
    expect(peer.p.b.tcp.counters.badOptions).toBe(0);
  });

  it.each([
    ['timestamp of length 0', [1, 1, 8, 0]],
    ['option length 1', [5, 1, 1, 1]],
    ['truncated list', [1, 1, 1, 8]],
  ])('data segment with %s is accepted and acknowledged', async (_name, bad) => {
    const c = await handshake();
    const { peer } = c;
    const got: Buffer[] = [];
    c.s.on('data', (d: Buffer) => got.push(d));
    peer.send({ seq: c.seq, ack: c.ack, flags: ACK | PSH, payload: new Uint8Array([1, 2, 3]), opts: bad });
    await peer.wait(100);
    expect(Buffer.concat(got)).toEqual(Buffer.from([1, 2, 3]));
    const r = peer.take();
    expect(r.length).toBeGreaterThan(0);
    expect(r[r.length - 1]).toMatchObject({ flags: ACK, seq: c.ack, ack: c.seq + 3 });
    expect(peer.p.b.tcp.counters.badOptions).toBe(1);
  });

  it('parses what the strict parser parses, stops where it refuses, never reads outside the list', () => {
    const strict = new TcpOptions();
    const lenient = new TcpOptions();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (list, guard) => {
          // The list sits between guard bytes that must never influence the result.
          const buf = new Uint8Array(8 + list.length + 8);
          buf.set(guard, 0);
          buf.set(list, 8);
          buf.set(guard, 8 + list.length);
          const at = parseTcpOptionsLenient(buf, 8, 8 + list.length, lenient);
          const buf2 = new Uint8Array(buf.length).fill(0xaa);
          buf2.set(list, 8);
          const lenient2 = new TcpOptions();
          expect(parseTcpOptionsLenient(buf2, 8, 8 + list.length, lenient2)).toBe(at);
          expect({ ...lenient2 }).toEqual({ ...lenient });
          const e = parseTcpOptions(buf, 8, 8 + list.length, strict);
          if (e === null) {
            expect(at).toBe(-1);
            expect({ ...lenient }).toEqual({ ...strict });
          } else {
            expect(at).toBeGreaterThanOrEqual(8);
            expect(at).toBeLessThan(8 + list.length);
            // The fault the strict parser found is where the lenient walk stopped.
            expect(at).toBe(strict.errorOffset);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
