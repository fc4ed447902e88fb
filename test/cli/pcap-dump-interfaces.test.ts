// `pcap dump` on pcapng files of several sections, each with its own IDBs (issue 10): `interface`
// is the Interface ID the packet block writes, an index into its own section's IDBs, and
// `section` counts sections from 0. Checked against what the test wrote, and against tshark's
// frame.interface_id / frame.section_number (skips without tshark unless CI=true).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Blocks,
  epbBody,
  idbBody,
  removeTmp,
  rng,
  shbBody,
  skipWithoutTshark,
  writeBytes,
} from '../pcap/helpers.ts';

afterAll(removeTmp);

const root = join(import.meta.dirname, '../..');

/** One packet as written: its section and the Interface ID in its block. */
interface Written {
  section: number;
  id: number;
}

/** A 60-byte Ethernet frame (ARP type) so tshark has something ordinary to dissect. */
const FRAME = [...new Array<number>(12).fill(0x02), 0x08, 0x06, ...new Array<number>(46).fill(0)];

/**
 * A pcapng file of 1 to 4 sections in random byte orders. Each section declares 1 to 4 IDBs
 * (some only after packets on the earlier ones) and carries EPBs, obsolete PBs (16-bit id) and
 * SPBs (always interface 0), with NRB/ISB blocks in between that name no packet.
 */
function multiSection(seed: number): { bytes: Uint8Array; written: Written[] } {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const b = new Blocks();
  const written: Written[] = [];
  const sections = 1 + int(4);
  for (let s = 0; s < sections; s++) {
    const le = r() < 0.5;
    const sb = new Blocks(le);
    sb.block(0x0a0d0d0a, shbBody(le));
    const idbs = 1 + int(4);
    let declared = 0;
    const declare = (): void => {
      sb.block(1, idbBody(1, 0, le));
      declared++;
    };
    declare();
    const packets = 1 + int(8);
    for (let k = 0; k < packets; k++) {
      if (declared < idbs && r() < 0.4) declare();
      const kind = r();
      const id = int(declared);
      if (kind < 0.6) {
        sb.block(6, epbBody(id, FRAME.length, FRAME.length, FRAME, le));
        written.push({ section: s, id });
      } else if (kind < 0.8) {
        const head = new Blocks(le)
          .u16(id)
          .u16(0)
          .u32(0)
          .u32(1000 + k)
          .u32(FRAME.length)
          .u32(FRAME.length);
        sb.block(2, [...head.body(), ...FRAME]);
        written.push({ section: s, id });
      } else if (kind < 0.9) {
        sb.block(3, [...new Blocks(le).u32(FRAME.length).body(), ...FRAME]);
        written.push({ section: s, id: 0 });
      } else {
        // An NRB holding only its end-of-records, or an ISB (interface id, timestamp) on a declared id.
        if (r() < 0.5) sb.block(4, [0, 0, 0, 0]);
        else sb.block(5, new Blocks(le).u32(id).u32(0).u32(0).body());
      }
    }
    while (declared < idbs) declare();
    b.u8(...sb.bytes());
  }
  return { bytes: b.bytes(), written };
}

function dump(path: string, json: boolean): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'node',
    [join(root, 'bin/ptnet-ts.js'), 'pcap', 'dump', path, ...(json ? ['--json'] : [])],
    {
      encoding: 'utf8',
      cwd: root,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dumped = new Map<string, [number, number][]>();

/** [interface, section] per packet from `pcap dump --json` (one run per file, shared by both suites). */
function ours(path: string): [number, number][] {
  const seen = dumped.get(path);
  if (seen !== undefined) return seen;
  const r = dump(path, true);
  expect(r.code, r.stderr).toBe(0);
  const got = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l): [number, number] => {
      const o = JSON.parse(l) as { interface: number; section: number };
      return [o.interface, o.section];
    });
  dumped.set(path, got);
  return got;
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const files = SEEDS.map((seed) => {
  const f = multiSection(seed);
  return { seed, path: writeBytes(f.bytes), written: f.written };
});

describe('pcap dump: interface IDs per section', () => {
  it('the generated files have several sections with reused Interface IDs', () => {
    // Guard against a generator that would make the comparison trivial.
    const multi = files.filter((f) => new Set(f.written.map((w) => w.section)).size > 1);
    expect(multi.length).toBeGreaterThanOrEqual(6);
    expect(files.some((f) => f.written.some((w) => w.section > 0 && w.id === 0))).toBe(true);
    expect(files.some((f) => f.written.some((w) => w.section > 0 && w.id > 0))).toBe(true);
  });

  it.each(files)(
    'seed $seed: --json interface and section are what the blocks write',
    ({ path, written }) => {
      expect(ours(path)).toEqual(written.map((w) => [w.id, w.section]));
    },
  );

  it('text output: the second column is the per-section Interface ID', () => {
    const f = files.find((x) => new Set(x.written.map((w) => w.section)).size > 2)!;
    const r = dump(f.path, false);
    expect(r.code, r.stderr).toBe(0);
    const cols = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => Number(l.split('\t')[1]));
    expect(cols).toEqual(f.written.map((w) => w.id));
  });
});

/** tshark's [frame.interface_id, frame.section_number - 1] per frame. */
function tshark(path: string): [number, number][] {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-T', 'fields', '-e', 'frame.interface_id', '-e', 'frame.section_number'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [id, section] = l.split('\t');
      return [Number(id), Number(section) - 1];
    });
}

describe.skipIf(skipWithoutTshark('pcap dump interface IDs vs tshark'))('pcap dump vs tshark', () => {
  it.each(files)('seed $seed: interface and section agree with tshark', ({ path, written }) => {
    const theirs = tshark(path);
    expect(theirs.length).toBe(written.length);
    expect(ours(path)).toEqual(theirs);
  });
});
