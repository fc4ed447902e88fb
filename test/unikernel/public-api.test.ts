// The ARCHITECTURE.md example, written against the package entry point only.
import { describe, expect, it } from 'vitest';
import { Unikernel, ValeSwitch, type Socket } from '../../src/index.ts';

describe('public API', () => {
  it('runs the architecture example: echo over a VALE switch, one guest with a worker loop', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
    const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode: 'worker' });
    a.net.createServer((s: Socket) => s.pipe(s)).listen(7);
    const s = b.net.connect({ host: '10.0.0.1', port: 7 });
    const got = await new Promise<string>((resolve) => {
      s.on('connect', () => s.write('hello, ptnet'));
      s.on('data', (d: Buffer) => {
        resolve(d.toString());
        s.end();
      });
    });
    expect(got).toBe('hello, ptnet');
    a.shutdown();
    b.shutdown();
  });
});
