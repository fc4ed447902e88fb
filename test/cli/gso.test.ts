// `ptnet-ts gso` and `ptnet-ts gro` on the kernel-made fixtures.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as gso } from '../../src/cli/gso.ts';
import { run as gro } from '../../src/cli/gro.ts';
import { readFrames, readSuper } from '../oracle/lib/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ptnet-gso-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function capture(fn: () => Promise<number>): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await fn(), err };
  } finally {
    spy.mockRestore();
  }
}

describe('ptnet-ts gso', () => {
  it.each(['tcpv4-tso', 'tcpv6-gso', 'vlan-gso', 'uso', 'ufo-v4', 'csum-only'])(
    '%s: writes exactly the frames Linux put on the wire',
    async (name) => {
      const out = join(dir, `${name}.pcap`);
      const r = await capture(() => gso([`fixtures/pcap/${name}.pcapng`, out]));
      const refused = readFileSync(`fixtures/pcap/${name}.verdicts.txt`, 'utf8')
        .trim()
        .split('\n')
        .filter((v) => !v.startsWith('ok')).length;
      expect(r.code).toBe(refused > 0 ? 1 : 0);
      expect(r.err === '' ? 0 : r.err.trim().split('\n').length).toBe(refused);
      expect(readFrames(out)).toEqual(readFrames(`fixtures/pcap/${name}.kernel.pcap`));
    },
  );

  it('exits 1 with one line per refused packet (index and code), writing the others', async () => {
    const out = join(dir, 'invalid.pcap');
    const r = await capture(() => gso(['fixtures/pcap/invalid.pcapng', out]));
    expect(r.code).toBe(1);
    const verdicts = readFileSync('fixtures/pcap/invalid.verdicts.txt', 'utf8').trim().split('\n');
    const expected = verdicts
      .map((v, i) =>
        v === 'EINVAL' ? `packet ${i}: einval` : v === 'dropped' ? `packet ${i}: dropped` : null,
      )
      .filter((x) => x !== null);
    const lines = r.err.trim().split('\n');
    expect(lines.map((l) => l.replace(/: [A-Z_]+ \((\w+)\)$/, ': $1'))).toEqual(expected);
    for (const l of lines) expect(l).toMatch(/^packet \d+: [A-Z_]+ \((einval|dropped)\)$/);
    expect(readFrames(out)).toEqual(readFrames('fixtures/pcap/invalid.kernel.pcap'));
  });

  it('copies packets without a vnet comment and exits 2 on usage errors or bad files', async () => {
    const out = join(dir, 'copy.pcap');
    expect((await capture(() => gso(['fixtures/pcap/tcpv4-tso.kernel.pcap', out]))).code).toBe(0);
    expect(readFrames(out)).toEqual(readFrames('fixtures/pcap/tcpv4-tso.kernel.pcap'));
    expect((await capture(() => gso(['only-one-arg']))).code).toBe(2);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture file');
    const r = await capture(() => gso([junk, join(dir, 'x.pcap')]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ptnet-ts gso: /);
  });
});

describe('ptnet-ts gro', () => {
  it("rebuilds Linux's own TSO super-frames from the kernel's segments", async () => {
    const out = join(dir, 'gro.pcapng');
    expect((await capture(() => gro(['fixtures/pcap/tcpv4-tso.kernel.pcap', out]))).code).toBe(0);
    const ours = readSuper(out);
    const linux = readSuper('fixtures/pcap/tcpv4-tso.pcapng').filter((c) => c.hdr.gsoType !== 0);
    expect(linux.length).toBeGreaterThan(2);
    for (const l of linux) {
      const m = ours.find((o) => o.frame.length === l.frame.length && Buffer.compare(o.frame, l.frame) === 0);
      expect(m, `super-frame of ${l.frame.length} bytes`).toBeDefined();
      expect(m!.hdr).toEqual(l.hdr);
    }
  });

  it('gso(gro(x)) = x on the kernel segments', async () => {
    const g = join(dir, 'rt.pcapng');
    const back = join(dir, 'rt.pcap');
    expect((await capture(() => gro(['fixtures/pcap/tcpv6-tso.kernel.pcap', g, '--burst', '16']))).code).toBe(
      0,
    );
    expect((await capture(() => gso([g, back]))).code).toBe(0);
    expect(readFrames(back)).toEqual(readFrames('fixtures/pcap/tcpv6-tso.kernel.pcap'));
    expect((await capture(() => gro(['x', g, '--burst', '0']))).code).toBe(2);
  });
});
