// Mutated captures through every file-reading command (issue 14 item 4 and "CLI errors"): seeded
// bit flips, truncations and field rewrites (huge timestamps, odd if_tsresol, if_tsoffset, lengths)
// of valid pcap and pcapng files go through `pcap dump`, `pcap verify`, `gso` and `gro`. Each must
// end with exit 0, 1 or 2; a fault is one typed line on stderr, never a stack trace, and never the
// CLI's last-resort "internal error" line (which would mean a command missed a fault).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, formatVnetComment } from '../../src/pcap/index.ts';
import { Blocks, epbBody, idbBody, rng, shbBody } from '../pcap/helpers.ts';
import type { DriverResult } from './cli-driver.ts';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ptnet-cli-mutate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 2-section pcapng: odd resolutions (0x81, 0xa0, ms), vnet comments on a TCP super-frame. */
function oddResolutions(): Uint8Array {
  const path = join(dir, 'odd.pcapng');
  const fd = openSync(path, 'w');
  const frame = ethTcp(3000);
  const hdr = formatVnetComment({
    flags: 1,
    gsoType: 1,
    hdrLen: 54,
    gsoSize: 1000,
    csumStart: 34,
    csumOffset: 16,
  });
  const a = new PcapngWriter(fd);
  a.addInterface({ tsresol: 0x81 });
  a.addInterface({ tsresol: 0xa0 });
  a.write(0, frame, 2 ** 33, 500_000_000, frame.length, hdr);
  a.write(1, frame, 1_700_000_000, 123, frame.length, hdr);
  a.flush();
  const b = new PcapngWriter(fd, { byteOrder: 'be' });
  b.addInterface({ tsresol: 3 });
  b.write(0, frame.subarray(0, 60), 5, 0, 60, null);
  b.write(0, frame, 6, 0, frame.length, hdr);
  b.flush();
  closeSync(fd);
  return readFileSync(path);
}

/** Ethernet + IPv4 + TCP (no options) with `payload` bytes, checksums left as zeros. */
function ethTcp(payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  const ipLen = 20 + 20 + payload;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], 34);
  for (let i = 54; i < f.length; i++) f[i] = i & 0xff;
  return f;
}

/** A big-endian nanosecond pcap (fractions there may exceed 10^9 after a rewrite). */
function nsPcap(): Uint8Array {
  const path = join(dir, 'ns.pcap');
  const fd = openSync(path, 'w');
  const w = new PcapWriter(fd, { nanosecond: true, byteOrder: 'be' });
  w.write(ethTcp(100), 0xffffffff, 999_999_999);
  w.write(ethTcp(10), 1, 2);
  w.flush();
  closeSync(fd);
  return readFileSync(path);
}

/**
 * A section whose IDB carries if_tsresol 0x81 and an if_tsoffset (the writer makes neither an
 * offset nor, here, a big-endian section), so the mutations can rewrite both.
 */
function withTsoffset(): Uint8Array {
  const le = false;
  const opts = new Blocks(le).u16(9).u16(1).u8(0x81, 0, 0, 0);
  opts.u16(14).u16(8).u32(0).u32(1_700_000_000).u16(0).u16(0);
  const frame = [...ethTcp(2000)];
  const comment = [
    ...new TextEncoder().encode(
      'vnet flags=0x01 gso_type=0x01 hdr_len=54 gso_size=700 csum_start=34 csum_offset=16',
    ),
  ];
  const pad = new Array<number>((4 - (comment.length % 4)) % 4).fill(0);
  const epbOpts = [...new Blocks(le).u16(1).u16(comment.length).body(), ...comment, ...pad, 0, 0, 0, 0];
  const b = new Blocks(le);
  b.block(0x0a0d0d0a, shbBody(le));
  b.block(1, idbBody(1, 0, le, opts.body()));
  b.block(6, epbBody(0, frame.length, frame.length, frame, le, epbOpts));
  b.block(6, epbBody(0, 60, 60, frame.slice(0, 60), le));
  return b.bytes();
}

const fixture = (name: string): Uint8Array => readFileSync(join(root, 'fixtures/pcap', name));

const bases: [string, Uint8Array][] = [
  ['tcpv4-gso.pcapng', fixture('tcpv4-gso.pcapng')],
  ['ufo-v4.pcapng', fixture('ufo-v4.pcapng')],
  ['invalid.pcapng', fixture('invalid.pcapng')],
  ['tool-sections.pcapng', fixture('tool-sections.pcapng')],
  ['tcpv4-gso.kernel.pcap', fixture('tcpv4-gso.kernel.pcap')],
  ['tool-tcp4-ns.pcap', fixture('tool-tcp4-ns.pcap')],
  ['odd.pcapng', oddResolutions()],
  ['ns.pcap', nsPcap()],
  ['tsoffset-be.pcapng', withTsoffset()],
];

interface Block {
  at: number;
  type: number;
  len: number;
  le: boolean;
}

/** The blocks of a (valid) pcapng file, each with its section's byte order. */
function blocks(b: Uint8Array): Block[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Block[] = [];
  let le = true;
  for (let at = 0; at + 12 <= b.length;) {
    if (dv.getUint32(at, true) === 0x0a0d0d0a) le = dv.getUint32(at + 8, true) === 0x1a2b3c4d;
    const len = dv.getUint32(at + 4, le);
    out.push({ at, type: dv.getUint32(at, le), len, le });
    if (len < 12) break;
    at += len;
  }
  return out;
}

const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1_000_000_000, 0x40000000];
const ODD_TSRESOL = [0x81, 0xa0, 0x80, 0xbf, 0xff, 0x7f, 0, 3, 12, 19, 20, 0x9f, 0xa1];

/** One seeded mutation of `src` (a copy): several edits of the kinds the header lists. */
function mutate(src: Uint8Array, seed: number): Uint8Array {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  let b = Uint8Array.from(src);
  const dv = (): DataView => new DataView(b.buffer);
  const isPcapng = new DataView(src.buffer, src.byteOffset).getUint32(0, true) === 0x0a0d0d0a;
  const bl = isPcapng ? blocks(src) : [];
  const edits = 1 + int(3);
  for (let e = 0; e < edits; e++) {
    const kind = int(8);
    if (kind === 0) {
      for (let k = 1 + int(8); k > 0; k--) {
        const at = int(b.length);
        b[at] = b[at]! ^ (1 << int(8));
      }
    } else if (kind === 1) {
      b = b.slice(0, int(b.length + 1));
    } else if (kind === 2 && b.length >= 4) {
      dv().setUint32(int(b.length - 3), r() < 0.5 ? pick(INTERESTING_U32) : int(2 ** 32), r() < 0.5);
    } else if (isPcapng && bl.length > 0) {
      const epbs = bl.filter((x) => x.type === 6 && x.at + 28 <= b.length);
      const idbs = bl.filter((x) => x.type === 1 && x.at + 20 <= b.length);
      if (kind <= 4 && epbs.length > 0) {
        // EPB timestamp (high or low word) or captured/original length.
        const x = pick(epbs);
        dv().setUint32(x.at + pick([12, 12, 16, 20, 24]), pick(INTERESTING_U32), x.le);
      } else if (idbs.length > 0) {
        const x = pick(idbs);
        const d = dv();
        // Walk the IDB's options: rewrite if_tsresol, if_tsoffset, or else the linktype/snaplen.
        let done = false;
        for (let o = x.at + 16; o + 4 <= Math.min(x.at + x.len - 4, b.length);) {
          const code = d.getUint16(o, x.le);
          const len = d.getUint16(o + 2, x.le);
          if (code === 0) break;
          if (code === 9 && len === 1 && o + 5 <= b.length) {
            b[o + 4] = pick(ODD_TSRESOL);
            done = true;
          } else if (code === 14 && len === 8 && o + 12 <= b.length) {
            d.setBigInt64(o + 4, BigInt(pick([-1, 2 ** 40, -(2 ** 40), 2 ** 53, 1_700_000_000])), x.le);
            done = true;
          }
          o += 4 + len + ((4 - (len % 4)) % 4);
        }
        if (!done) {
          if (r() < 0.5) d.setUint16(x.at + 8, pick([0, 1, 101, 228, 0xffff]), x.le);
          else d.setUint32(x.at + 12, pick(INTERESTING_U32), x.le);
        }
      }
    } else if (!isPcapng && b.length >= 40) {
      // A pcap record header: seconds or fraction of the first or a later record, or the
      // linktype/snaplen in the file header.
      const le = dv().getUint32(0, true) === 0xa1b2c3d4 || dv().getUint32(0, true) === 0xa1b23c4d;
      const field = pick([24, 28, 20, 16, 24 + 8]);
      dv().setUint32(field, pick(INTERESTING_U32), le);
    }
  }
  return b;
}

const MUTATIONS_PER_BASE = 40;

interface Job {
  base: string;
  seed: number;
  args: string[];
}

const jobs: Job[] = [];
// The unmutated bases first (seed 0): they must read cleanly, or the mutations prove little.
for (const [name, bytes] of bases) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  jobs.push({ base: name, seed: 0, args: ['pcap', 'dump', path] });
}
for (const [name, bytes] of bases) {
  for (let k = 0; k < MUTATIONS_PER_BASE; k++) {
    const seed = (jobs.length + 1) * 7919;
    const path = join(dir, `${name}.${k}`);
    writeFileSync(path, mutate(bytes, seed));
    for (const args of [
      ['pcap', 'dump', path, '--json'],
      ['pcap', 'verify', path],
      ['gso', path, `${path}.gso.pcap`],
      ['gro', path, `${path}.gro.pcapng`],
    ]) {
      jobs.push({ base: name, seed, args });
    }
  }
}

/** Lines Node prints for an uncaught error's stack. */
const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

function checkRun(args: string[], code: number | null, stderr: string): void {
  const what = `${args.join(' ')}\n${stderr}`;
  expect([0, 1, 2], what).toContain(code);
  expect(stderr, what).not.toMatch(STACK);
  expect(stderr, what).not.toMatch(/internal error|RangeError|TypeError/);
  if (code === 2 && args.includes('--json')) {
    // With --json the fault is one JSON object on stderr, and the only line there.
    const lines = stderr.trimEnd().split('\n');
    expect(lines, what).toHaveLength(1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(o, what).toMatchObject({ command: args[0], exitCode: 2 });
    expect(o.code, what).toMatch(/^[A-Z_]+$/);
    expect(typeof o.message, what).toBe('string');
  } else if (code === 2) {
    // One line naming the command, then nothing else.
    expect(
      stderr.split('\n').filter((l) => l.startsWith('ptnet-ts ')),
      what,
    ).toHaveLength(1);
    expect(stderr.trimEnd().split('\n').at(-1), what).toMatch(/^ptnet-ts (pcap|gso|gro): /);
  }
}

describe('mutated captures through pcap dump/verify, gso and gro', () => {
  it(`${bases.length} files x ${MUTATIONS_PER_BASE} mutations x 4 commands end in 0, 1 or 2 without a stack trace`, () => {
    const jobsFile = join(dir, 'jobs.json');
    const resultsFile = join(dir, 'results.json');
    writeFileSync(jobsFile, JSON.stringify(jobs.map((j) => j.args)));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'cli-driver.ts'), jobsFile, resultsFile],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as DriverResult[];
    expect(results.length).toBe(jobs.length);
    results
      .slice(0, bases.length)
      .forEach((x) => expect([x.args.join(' '), x.code, x.stderr]).toEqual([x.args.join(' '), 0, '']));
    const codes = new Map<number | null, number>();
    for (const x of results) {
      expect(x.threw, x.args.join(' ')).toBeNull();
      checkRun(x.args, x.code, x.stderr);
      codes.set(x.code, (codes.get(x.code) ?? 0) + 1);
    }
    // The mutations reach every outcome: clean files, rejected packets and refused input.
    expect([...codes.keys()].sort()).toEqual([0, 1, 2]);
  }, 300_000);

  it('the installed command, as a process, on a sample of them', () => {
    const sample = jobs.filter((_, i) => i % 97 === 0);
    expect(sample.length).toBeGreaterThanOrEqual(12);
    for (const j of sample) {
      const r = spawnSync(process.execPath, [join(root, 'bin/ptnet-ts.js'), ...j.args], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      checkRun(j.args, r.status, r.stderr);
    }
  }, 120_000);
});
