// End to end: `node bin/ptnet-ts.js pcap dump|verify` on files written here, with frames whose
// checksums are known good, deliberately broken, or partial (NEEDS_CSUM).
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter } from '../../src/pcap/index.ts';
import { eth } from '../pcap/frames.ts';
import { cases, partial, writeCases } from '../pcap/verify-cases.ts';
import { removeTmp, tmpPath } from '../pcap/helpers.ts';

afterAll(removeTmp);

const root = join(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliWithInput(input: Buffer | undefined, ...args: string[]): Run {
  const r = spawnSync('node', [join(root, 'bin/ptnet-ts.js'), 'pcap', ...args], {
    encoding: 'utf8',
    cwd: root,
    input,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(...args: string[]): Run {
  return cliWithInput(undefined, ...args);
}

function jsonLines(s: string): Record<string, unknown>[] {
  return s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
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
        section: 0,
        linktype: 101,
        ts: '1700000000.000000005',
        caplen: 4,
        origlen: 4,
        comment: null,
      },
      {
        index: 1,
        interface: 0,
        section: 0,
        linktype: 101,
        ts: '0.999999999',
        caplen: 10,
        origlen: 1500,
        comment: null,
      },
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

  it('reads standard input for FILE "-"', () => {
    const r = cliWithInput(readFileSync(join(root, 'fixtures/pcap/tool-udp6.pcap')), 'dump', '-', '--json');
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).map((o) => [o.ts, o.caplen])).toEqual([
      ['1704164645.500000000', 75],
      ['1704164646.500000000', 110],
      ['1704164647.500000000', 63],
    ]);
  });

  it('exits 2 with one line for a missing file, a directory, a non-capture and bad usage', () => {
    for (const args of [
      ['dump', root],
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
