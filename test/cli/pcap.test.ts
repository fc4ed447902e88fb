// End to end: `node bin/ptnet-ts.js pcap dump|verify` on files written here, with frames whose
// checksums are known good, deliberately broken, or partial (NEEDS_CSUM).
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapngWriter, PcapWriter } from '../../src/pcap/index.ts';
import { ICMP, ICMPV6, TCP, UDP, eth, ipv4, ipv6, with16 } from '../pcap/frames.ts';
import { removeTmp, tmpPath } from '../pcap/helpers.ts';

afterAll(removeTmp);

const root = join(import.meta.dirname, '../..');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [join(root, 'bin/ptnet-ts.js'), 'pcap', ...args], {
    encoding: 'utf8',
    cwd: root,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(s: string): Record<string, unknown>[] {
  return s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

type Case = [
  name: string,
  linktype: number,
  bytes: number[],
  comment: string | null,
  want: Record<string, string>,
];

const tcp4 = ipv4(TCP, [1, 2, 3, 4, 5]);
const partial = with16(tcp4.ip, tcp4.l4Field, tcp4.pseudo);
const vnet = 'vnet flags=0x01 gso_type=0 hdr_len=54 gso_size=0 csum_start=34 csum_offset=16';
const udp6 = ipv6(UDP, [9, 8, 7]);
const AF_INET_LE = [2, 0, 0, 0];
const AF_INET6_BE = [0, 0, 0, 30]; // Darwin's AF_INET6, network order (LOOP)
const sll = (type: number) => [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, type >>> 8, type & 0xff];
const sll2 = (type: number) => [
  type >>> 8,
  type & 0xff,
  0,
  0,
  0,
  0,
  0,
  3,
  0,
  1,
  0,
  6,
  2,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
];

const cases: Case[] = [
  ['tcp4 good', 1, [...eth(0x0800), ...tcp4.ip], null, { ipv4: 'good', tcp: 'good' }],
  [
    'tcp4 bad l4',
    1,
    [...eth(0x0800), ...with16(tcp4.ip, tcp4.l4Field, 0x1234)],
    null,
    { ipv4: 'good', tcp: 'bad' },
  ],
  ['ipv4 header bad', 1, [...eth(0x0800), ...with16(tcp4.ip, 10, 0)], null, { ipv4: 'bad', tcp: 'good' }],
  ['tcp4 partial', 1, [...eth(0x0800), ...partial], vnet, { ipv4: 'good', tcp: 'partial' }],
  ['partial without vnet', 1, [...eth(0x0800), ...partial], 'just a note', { ipv4: 'good', tcp: 'bad' }],
  [
    'partial, wrong csum_start',
    1,
    [...eth(0x0800), ...partial],
    vnet.replace('34', '30'),
    { ipv4: 'good', tcp: 'bad' },
  ],
  ['good tcp with vnet', 1, [...eth(0x0800), ...tcp4.ip], vnet, { ipv4: 'good', tcp: 'good' }],
  [
    'udp4 zero = none',
    1,
    [
      ...eth(0x0800),
      ...(() => {
        const u = ipv4(UDP, [1]);
        return with16(u.ip, u.l4Field, 0);
      })(),
    ],
    null,
    { ipv4: 'good' },
  ],
  ['udp4 good', 1, [...eth(0x0800), ...ipv4(UDP, [1, 2, 3]).ip], null, { ipv4: 'good', udp: 'good' }],
  ['udp6 good', 1, [...eth(0x86dd), ...udp6.ip], null, { udp: 'good' }],
  ['udp6 zero is bad', 1, [...eth(0x86dd), ...with16(udp6.ip, udp6.l4Field, 0)], null, { udp: 'bad' }],
  ['icmp good', 1, [...eth(0x0800), ...ipv4(ICMP, [0x61, 0x62]).ip], null, { ipv4: 'good', icmp: 'good' }],
  [
    'icmp bad',
    1,
    [...eth(0x0800), ...with16(ipv4(ICMP, [0x61]).ip, 22, 0)],
    null,
    { ipv4: 'good', icmp: 'bad' },
  ],
  ['icmpv6 good', 1, [...eth(0x86dd), ...ipv6(ICMPV6, [1, 2]).ip], null, { icmpv6: 'good' }],
  ['fragment: no l4 verdict', 1, [...eth(0x0800), ...ipv4(TCP, [1, 2], 0x2000).ip], null, { ipv4: 'good' }],
  ['arp: nothing', 1, [...eth(0x0806), 0, 1, 8, 0, 6, 4, 0, 1, ...new Array<number>(20).fill(0)], null, {}],
  ['raw', 101, ipv4(UDP, [5]).ip, null, { ipv4: 'good', udp: 'good' }],
  ['ipv4 linktype', 228, ipv4(TCP, [5]).ip, null, { ipv4: 'good', tcp: 'good' }],
  ['ipv6 linktype', 229, ipv6(TCP, [5]).ip, null, { tcp: 'good' }],
  ['sll', 113, [...sll(0x0800), ...ipv4(ICMP, [5]).ip], null, { ipv4: 'good', icmp: 'good' }],
  ['sll2', 276, [...sll2(0x86dd), ...ipv6(ICMPV6, [5]).ip], null, { icmpv6: 'good' }],
  ['null', 0, [...AF_INET_LE, ...ipv4(TCP, []).ip], null, { ipv4: 'good', tcp: 'good' }],
  ['loop', 108, [...AF_INET6_BE, ...with16(udp6.ip, udp6.l4Field, 1)], null, { udp: 'bad' }],
  ['snapped tcp', 1, [...eth(0x0800), ...tcp4.ip].slice(0, 40), null, { ipv4: 'good' }],
  ['unknown linktype', 147, [...eth(0x0800), ...tcp4.ip], null, {}],
];

/** Writes the cases (or a subset) as pcapng, one interface per linktype. */
function writeCases(cs: Case[]): string {
  const path = tmpPath('pcapng');
  const fd = openSync(path, 'w');
  const w = new PcapngWriter(fd);
  const ids = new Map<number, number>();
  cs.forEach(([, lt, bytes, comment], i) => {
    if (!ids.has(lt)) ids.set(lt, w.addInterface({ linktype: lt }));
    // 'snapped tcp' keeps its original length: a capture cut short
    const orig = bytes.length === 40 ? 67 : bytes.length;
    w.write(ids.get(lt)!, Uint8Array.from(bytes), 1700000000 + i, i, orig, comment);
  });
  w.flush();
  closeSync(fd);
  return path;
}

describe('ptnet-ts pcap verify', () => {
  it('gives good/bad/partial per checksum, keys only where a checksum exists; exit 1 on bad', () => {
    const r = cli('verify', writeCases(cases), '--json');
    expect(r.code).toBe(1);
    const got = jsonLines(r.stdout);
    expect(got).toEqual(cases.map(([, , , , want], index) => ({ index, ...want })));
    // the keys come in a fixed order after index
    expect(Object.keys(got[0]!)).toEqual(['index', 'ipv4', 'tcp']);
  });

  it('exits 0 when nothing is bad (partial is not bad), and prints a line per packet', () => {
    const ok = cases.filter(([, , , , want]) => !Object.values(want).includes('bad'));
    const r = cli('verify', writeCases(ok));
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(ok.length);
    expect(lines[0]).toBe('0\tipv4=good tcp=good');
    expect(lines).toContain(`${ok.findIndex((c) => c[0] === 'tcp4 partial')}\tipv4=good tcp=partial`);
    expect(lines).toContain(`${ok.findIndex((c) => c[0] === 'arp: nothing')}\t-`);
  });

  it('exits 2 on a malformed vnet comment, after the packets before it', () => {
    const r = cli(
      'verify',
      writeCases([cases[0]!, ['bad vnet', 1, [...eth(0x0800), ...partial], 'vnet flags=0x01 mtu=9000', {}]]),
      '--json',
    );
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout)).toEqual([{ index: 0, ipv4: 'good', tcp: 'good' }]);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/BAD_VNET_COMMENT/);
  });
});

describe('ptnet-ts pcap dump', () => {
  it('--json: one object per packet with the documented fields', () => {
    const path = tmpPath('pcap');
    const fd = openSync(path, 'w');
    const w = new PcapWriter(fd, { nanosecond: true, byteOrder: 'be', linktype: 101 });
    w.write(Uint8Array.of(0x45, 0, 0, 20), 1700000000, 5);
    w.write(new Uint8Array(10), 0, 999_999_999, 1500);
    w.flush();
    closeSync(fd);
    const r = cli('dump', path, '--json');
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([
      {
        index: 0,
        interface: 0,
        linktype: 101,
        ts: '1700000000.000000005',
        caplen: 4,
        origlen: 4,
        comment: null,
      },
      { index: 1, interface: 0, linktype: 101, ts: '0.999999999', caplen: 10, origlen: 1500, comment: null },
    ]);
  });

  it('text: tab-separated index, interface, linktype, ts, caplen, origlen, comment', () => {
    const r = cli('dump', join(root, 'fixtures/pcap/tool-comments.pcapng'));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      '0\t0\t1\t1704164645.123456789\t67\t67\t"vnet flags=0x01 gso_type=0x81 hdr_len=66 gso_size=1448 csum_start=34 csum_offset=16"',
      '1\t0\t1\t1704164646.123456789\t102\t102\t"a comment, with a comma"',
      '2\t0\t1\t1704164647.123456789\t60\t60\t-',
    ]);
  });

  it('exits 2 with one line after printing the packets before a truncation', () => {
    const whole = readFileSync(join(root, 'fixtures/pcap/tool-tcp4-us.pcap'));
    const path = tmpPath('pcap');
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    for (const cmd of ['dump', 'verify']) {
      const r = cli(cmd, path, '--json');
      expect(r.code).toBe(2);
      expect(jsonLines(r.stdout).map((o) => o.index)).toEqual([0, 1]);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/TRUNCATED at offset 225/);
    }
  });

  it('exits 2 with one line for a missing file, a non-capture and bad usage', () => {
    for (const args of [
      ['dump', '/nonexistent/x.pcap'],
      ['verify', join(root, 'package.json')],
      ['dump'],
      ['frob', 'x'],
    ]) {
      const r = cli(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
