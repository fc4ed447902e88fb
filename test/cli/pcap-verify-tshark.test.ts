// `pcap verify` against tshark's own checksum validation on the same hand-built frames: where
// tshark says Good we say good, where it says Bad/Illegal we say bad or partial (tshark knows no
// NEEDS_CSUM), and where it has no verdict we print no key. Skips without tshark unless CI=true.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../src/pcap/index.ts';
import { verifyPacket, type Verdicts } from '../../src/cli/pcap-verify.ts';
import { removeTmp, skipWithoutTshark } from '../pcap/helpers.ts';
import { cases, writeCases } from '../pcap/verify-cases.ts';

afterAll(removeTmp);

const KEYS = ['ipv4', 'tcp', 'udp', 'icmp', 'icmpv6'] as const;
const FIELDS = ['ip', 'tcp', 'udp', 'icmp', 'icmpv6'].map((p) => `${p}.checksum.status`);

/** tshark checksum status: 0 Bad, 1 Good, 2 Unverified, 3 Not present, 4 Illegal. */
function tsharkVerdict(status: string): string | undefined {
  if (status === '1') return 'good';
  if (status === '0' || status === '4') return 'bad';
  return undefined;
}

describe.skipIf(skipWithoutTshark('pcap verify vs tshark'))('pcap verify vs tshark', () => {
  it('agrees with tshark on every case', () => {
    const path = writeCases(cases);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        path,
        ...['ip', 'tcp', 'udp'].flatMap((p) => ['-o', `${p}.check_checksum:TRUE`]),
        '-T',
        'fields',
        '-E',
        'occurrence=f',
        ...FIELDS.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const theirs = out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const cols = l.split('\t');
        const v: Record<string, string> = {};
        KEYS.forEach((k, i) => {
          const x = tsharkVerdict(cols[i] ?? '');
          if (x !== undefined) v[k] = x;
        });
        return v;
      });
    const ours: Record<string, string>[] = [];
    const r = openCapture(path);
    const v: Verdicts = {};
    for (const p of r) {
      verifyPacket(p, v);
      // tshark cannot know a field is a NEEDS_CSUM partial sum: to it that is a bad checksum.
      ours.push(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === 'partial' ? 'bad' : x])));
    }
    r.close();
    expect(ours.length).toBe(cases.length);
    ours.forEach((o, i) => expect([cases[i]![0], o]).toEqual([cases[i]![0], theirs[i]]));
  });
});
