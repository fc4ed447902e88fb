// The rarer lifecycle and connection events reach their namespaces too: a ring reinitialised after
// a hostile head (ptnet:host), a refused connection (ptnet:tcp, both ends), pipes (ptnet:host).
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncKloop, ValeSwitch, createPipe } from '../../src/host/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';
import { guestTxRing, makeCsb } from '../host/guest.ts';

const lines: Array<{ ns: string; text: string }> = [];
let savedLog: typeof createDebug.log;
let savedNamespaces = '';

beforeEach(() => {
  lines.length = 0;
  savedLog = createDebug.log;
  savedNamespaces = createDebug.disable();
  createDebug.log = function (this: createDebug.Debugger, ...args: unknown[]): void {
    const text = format(...args);
    const at = text.indexOf(`${this.namespace} `);
    lines.push({ ns: this.namespace, text: at < 0 ? text : text.slice(at + this.namespace.length + 1) });
  };
  createDebug.enable('ptnet:*');
});

afterEach(() => {
  createDebug.log = savedLog;
  createDebug.disable();
  if (savedNamespaces !== '') createDebug.enable(savedNamespaces);
});

const texts = (ns: string): string[] => lines.filter((l) => l.ns === ns).map((l) => l.text);

describe('event lines', () => {
  it('a hostile TX head: one ptnet:host line saying the ring was reinitialised', async () => {
    const [pa, pb] = createPipe('ri', { slots: 8 });
    const k = new SyncKloop(pa, makeCsb(), () => {}, 'inline');
    k.start();
    const tx = guestTxRing(pa, k.csb, () => {});
    tx.atok.head = 9; // out of range for 8 slots
    k.kick(0);
    k.stop();
    await pa.close();
    await pb.close();
    const host = texts('ptnet:host');
    expect(
      host.filter((t) => /^ring 0: txsync prologue refused head 9 cur \d+: ring reinit$/.test(t)),
    ).toHaveLength(1);
    expect(host[0]).toMatch(/^pipe ri\{0 <-> ri\}0: create \(1 rings of 8 slots\)$/);
    expect(host).toContain('ri{0: kloop start (inline, 1+1 rings)');
    expect(host).toContain('ri{0: kloop stop (inline, 1 ring runs)');
    expect(host).toContain('ri{0: pipe end close');
    expect(host).toContain('ri}0: pipe end close');
  });

  it('a refused connection: the RST sent and the SYN-SENT -> CLOSED line, under ptnet:tcp', async () => {
    const vale = new ValeSwitch('vale0');
    const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
    const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    const err = await new Promise<NodeJS.ErrnoException>((res) =>
      b.net.connect({ host: '10.0.0.1', port: 1234 }).on('error', res),
    );
    expect(err.code).toBe('ECONNREFUSED');
    await b.close();
    await a.close();
    await vale.close();
    const tcp = texts('ptnet:tcp');
    expect(tcp).toHaveLength(3);
    expect(tcp[0]).toMatch(/^10\.0\.0\.2:\d+-10\.0\.0\.1:1234 CLOSED -> SYN-SENT: active open$/);
    expect(tcp[1]).toMatch(/^10\.0\.0\.1:1234-10\.0\.0\.2:\d+ RST sent: no connection \(S\)$/);
    expect(tcp[2]).toMatch(
      /^10\.0\.0\.2:\d+-10\.0\.0\.1:1234 SYN-SENT -> CLOSED: RST received \(ECONNREFUSED\)$/,
    );
    // The segments themselves: our SYN out, its arrival, the RST's arrival (the RST for no
    // connection is the ptnet:tcp line above).
    const seg = texts('ptnet:tcp:seg');
    expect(seg).toHaveLength(3);
    expect(seg[0]).toMatch(/^\d+>1234 S seq=\d+ ack=0 len=0$/);
    expect(seg[1]).toMatch(/^1234<\d+ S seq=\d+ ack=0 len=0 win=\d+$/);
    expect(seg[2]).toMatch(/^\d+<1234 R\. seq=0 ack=\d+ len=0 win=0$/);
  });
});
