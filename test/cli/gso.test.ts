// `ptnet-ts gso` and `ptnet-ts gro` on the kernel-made fixtures.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as gso } from '../../src/cli/gso.ts';
import { run as gro } from '../../src/cli/gro.ts';
import { PcapngWriter } from '../../src/pcap/index.ts';
import { readFrames, readSuper } from '../oracle/lib/fixtures.ts';
import { Blocks, epbBody, idbBody, readAll, shbBody } from '../pcap/helpers.ts';

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

describe('ptnet-ts gso on timestamps a pcap record cannot hold (issue 14 item 4)', () => {
  // Valid pcapng that tshark and `pcap dump` read: seconds beyond 2^32-1 at if_tsresol 0x81 (half
  // seconds) and 0xa0 (2^-32 s), and a negative if_tsoffset that puts a packet before the epoch.
  it.each([
    ['0x81, 2^33 s', 0x81, 2 ** 33, /timestamp 8589934592 s is outside a pcap record's 0\.\.4294967295 s/],
    ['6, 2^40 s', 6, 2 ** 40, /timestamp 1099511627776 s is outside/],
  ])('%s: exit 2, one typed line naming the packet', async (_, tsresol, sec, msg) => {
    const input = join(dir, `huge-${tsresol}.pcapng`);
    const fd = openSync(input, 'w');
    const w = new PcapngWriter(fd);
    w.addInterface({ tsresol });
    w.write(0, new Uint8Array(60), 1_700_000_000, 0);
    w.write(0, new Uint8Array(60), sec, 0);
    w.flush();
    closeSync(fd);
    const r = await capture(() => gso([input, join(dir, `huge-${tsresol}.pcap`)]));
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^ptnet-ts gso: packet 1: UNREPRESENTABLE at offset 100: /);
    expect(r.err).toMatch(msg);
  });

  it('0xa0 (2^-32 s) up to the last pcap second: carried to the nanosecond, exit 0', async () => {
    const input = join(dir, 'a0.pcapng');
    const fd = openSync(input, 'w');
    const w = new PcapngWriter(fd);
    w.addInterface({ tsresol: 0xa0 });
    w.write(0, new Uint8Array(60), 0xffffffff, 999_999_999);
    w.flush();
    closeSync(fd);
    const out = join(dir, 'a0.pcap');
    const r = await capture(() => gso([input, out]));
    expect([r.code, r.err]).toEqual([0, '']);
    const want = readAll(input).map((p) => [p.tsSec, p.tsNsec]);
    expect(want[0]![0]).toBe(0xffffffff);
    expect(want[0]![1]).toBeGreaterThan(999_999_990);
    expect(readAll(out).map((p) => [p.tsSec, p.tsNsec])).toEqual(want);
  });

  it('keeps the sub-microsecond digits of a nanosecond input', async () => {
    const input = join(dir, 'ns-in.pcapng');
    const fd = openSync(input, 'w');
    const w = new PcapngWriter(fd);
    w.addInterface({ tsresol: 9 });
    w.write(0, new Uint8Array(60), 1_700_000_000, 123_456_789);
    w.write(0, new Uint8Array(60), 1, 1);
    w.flush();
    closeSync(fd);
    const copy = join(dir, 'ns-copy.pcap');
    expect((await capture(() => gso([input, copy]))).code).toBe(0);
    expect(readAll(copy).map((p) => [p.tsSec, p.tsNsec])).toEqual([
      [1_700_000_000, 123_456_789],
      [1, 1],
    ]);
  });

  it('a time before the epoch (negative if_tsoffset): exit 2, UNREPRESENTABLE', async () => {
    const b = new Blocks();
    const off = new Blocks().u16(14).u16(8).u32(0xffffff00).u32(0xffffffff).u16(0).u16(0).body();
    b.block(0x0a0d0d0a, shbBody())
      .block(1, idbBody(1, 0, true, off))
      .block(6, epbBody(0, 60, 60, new Array<number>(60).fill(0)));
    const input = join(dir, 'before-epoch.pcapng');
    writeFileSync(input, b.bytes());
    const r = await capture(() => gso([input, join(dir, 'before-epoch.pcap')]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ptnet-ts gso: packet 0: UNREPRESENTABLE at offset 24: timestamp -255 s/);
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
