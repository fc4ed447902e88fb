// Our reader against tshark on the tool-made fixtures: timestamp, lengths and comment of every
// frame must be what tshark reports. Needs tshark: skips with a reason, except under CI=true.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, openCapture } from '../../src/pcap/index.ts';
import { skipWithoutTshark } from './helpers.ts';

const dir = join(import.meta.dirname, '../../fixtures/pcap');
const files = readdirSync(dir).filter((f) => /^tool-.*\.pcap(ng)?$/.test(f));

/** tshark's time, lengths and comment per frame. */
function fields(path: string): string[][] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      path,
      '-T',
      'fields',
      '-e',
      'frame.time_epoch',
      '-e',
      'frame.len',
      '-e',
      'frame.cap_len',
      '-e',
      'frame.comment',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

const skipped = skipWithoutTshark('pcap tshark comparison');

describe.skipIf(skipped)('reader vs tshark on tool-made fixtures', () => {
  it('has fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s', (name) => {
    const path = join(dir, name);
    const want = fields(path);
    const got: string[][] = [];
    const r = openCapture(path);
    for (const p of r) got.push([p.ts, String(p.origlen), String(p.caplen), p.comment ?? '']);
    r.close();
    expect(got).toEqual(want);
  });
});

describe.skipIf(skipped)('tshark reads what our writers write', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ptnet-pcap-tshark-'));
  const frame = new Uint8Array(64).fill(0xab);

  it.each(['le', 'be'] as const)('pcap, µs and ns, %s', (byteOrder) => {
    for (const nanosecond of [false, true]) {
      const path = join(tmp, `w-${byteOrder}-${nanosecond}.pcap`);
      const fd = openSync(path, 'w');
      const w = new PcapWriter(fd, { byteOrder, nanosecond, snaplen: 50 });
      w.write(frame, 1700000000, 123456789);
      w.write(frame.subarray(0, 20), 1, 999);
      w.flush();
      closeSync(fd);
      const frac = nanosecond ? ['123456789', '000000999'] : ['123456000', '000000000'];
      expect(fields(path)).toEqual([
        [`1700000000.${frac[0]}`, '64', '50', ''],
        [`1.${frac[1]}`, '20', '20', ''],
      ]);
    }
  });

  it.each(['le', 'be'] as const)('pcapng with resolutions and comments, %s', (byteOrder) => {
    const path = join(tmp, `w-${byteOrder}.pcapng`);
    const fd = openSync(path, 'w');
    const w = new PcapngWriter(fd, { byteOrder });
    for (const tsresol of [6, 9, 0x80 | 20, 3]) w.addInterface({ tsresol });
    w.write(0, frame, 1700000000, 123456789, 64, 'vnet flags=0x01');
    w.write(1, frame, 1700000000, 123456789, 100, 'µ ünïcode');
    w.write(2, frame, 1700000000, 123456789);
    w.write(3, frame.subarray(0, 3), 1700000000, 123456789, 3, '');
    w.flush();
    closeSync(fd);
    expect(fields(path)).toEqual([
      ['1700000000.123456000', '64', '64', 'vnet flags=0x01'],
      ['1700000000.123456789', '100', '64', 'µ ünïcode'],
      ['1700000000.123456001', '64', '64', ''],
      ['1700000000.123000000', '3', '3', ''],
    ]);
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
});
