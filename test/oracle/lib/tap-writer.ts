// Runs inside the oracle netns (`ip netns exec NS node --import tsx tap-writer.ts TAP FILE`):
// writes every record of FILE (u32 LE length + vnet header + frame) to the TAP, one write() each,
// and prints one JSON array of results: 0 for success, else the errno write() failed with.
import { readFileSync } from 'node:fs';
import { LinuxTap } from '../../../src/host/tap/index.ts';

function main(): void {
  const [tap, file] = process.argv.slice(2);
  if (tap === undefined || file === undefined) throw new Error('usage: tap-writer TAP FILE');
  const data = readFileSync(file);
  // Offloads 0: the TAP's own reads stay plain; what is tested is the kernel's handling of writes.
  const t = LinuxTap.open(tap, { vnetHdrLen: 12, offloads: 0, nonBlocking: false });
  const results: number[] = [];
  let off = 0;
  while (off + 4 <= data.length) {
    const len = data.readUInt32LE(off);
    off += 4;
    const r = t.send(data.subarray(off, off + len), len);
    results.push(r >= 0 ? 0 : -r);
    off += len;
  }
  t.close();
  process.stdout.write(JSON.stringify(results));
}

main();
