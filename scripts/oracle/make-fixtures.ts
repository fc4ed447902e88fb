// Regenerates the kernel-made fixtures in fixtures/pcap/ and their section of MANIFEST.md.
// Needs root, /dev/net/tun, ip, tc, tcpdump, ethtool, taskset, python3. Run from the project root:
//   sudo npx tsx scripts/oracle/make-fixtures.ts [SEED]
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeFixtures } from '../../test/oracle/lib/fixtures.ts';
import { probeTapKernel } from '../../test/support/tap-kernel.ts';

const DIR = 'fixtures/pcap';
const HEADING = '## Kernel-made fixtures (scripts/oracle)';
const seed = Number(process.argv[2] ?? 20261122);

const done = await makeFixtures(DIR, seed);
const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
const probing = probeTapKernel().behaviour.probeNoCsumGso;
const rows = done.map(({ cls, results }) => {
  const size = (f: string): number => statSync(join(DIR, f)).size;
  const segs = results.reduce((a, r) => a + r.frames.length, 0);
  return `| \`${cls.name}.pcapng\` | ${cls.description} | ${cls.cases.length} | ${segs} | ${size(`${cls.name}.pcapng`) + size(`${cls.name}.kernel.pcap`)} |`;
});
const section = `${HEADING}

Made by \`sudo npx tsx scripts/oracle/make-fixtures.ts ${seed}\` on Linux \`${kernel}\` (the running
kernel is the reference; regenerate and re-run \`npx vitest run test/tso\` on another kernel).
TAP write behaviour of that kernel: \`probeNoCsumGso=${probing}\` (${probing ? 'probing' : 'upstream'}; src/vnethdr/kernel-behaviour.ts,
probed by test/support/tap-kernel.ts); test/tso/fixtures.test.ts replays the fixtures with it.
For each class:
- \`NAME.pcapng\`: the super-frames, Ethernet, each with its virtio-net header as the packet comment
  (\`vnet flags=… gso_type=… hdr_len=… gso_size=… csum_start=… csum_offset=…\`);
- \`NAME.kernel.pcap\`: what the kernel put on the wire for them, in order: each super-frame was
  written to a vnet_hdr TAP, tc \`mirred\` redirected it to a veth with tx/tso/gso/sg off (MTU 65535),
  and tcpdump captured the peer (test/oracle/lib/session.ts);
- \`NAME.verdicts.txt\`: per super-frame, \`ok N\` (N frames on the wire), \`EINVAL\` (write() failed)
  or \`dropped\` (accepted, nothing on the wire).

\`tcpv4-tso\`, \`tcpv6-tso\` and \`udp-uso\` hold real Linux GSO frames: python3 TCP/UDP (UDP_SEGMENT)
senders in one netns, a TAP read with TUNSETOFFLOAD CSUM|TSO4|TSO6|TSO_ECN|UFO|USO4|USO6 and
relayed to a second netns's TAP (test/oracle/lib/reverse.ts); checksums in them are partial
(NEEDS_CSUM), as Linux hands them over. The other classes come from the seeded generator
test/oracle/lib/gen.ts (seed ${seed}). In \`ufo-v6\` the Fragment header identification is random
(Linux draws it per datagram); tests take it from the kernel's output.

| file | content | super-frames | frames on the wire | bytes (both files) |
|---|---|---|---|---|
${rows.join('\n')}
`;
let manifest = readFileSync(join(DIR, 'MANIFEST.md'), 'utf8');
const at = manifest.indexOf(HEADING);
manifest = at >= 0 ? manifest.slice(0, at) + section : `${manifest.trimEnd()}\n\n${section}`;
writeFileSync(join(DIR, 'MANIFEST.md'), manifest);
console.log(rows.join('\n'));
