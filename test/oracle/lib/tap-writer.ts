// Runs inside the oracle netns (`ip netns exec NS node --import tsx tap-writer.ts TAP FILE`):
// writes every record of FILE (u32 LE length + vnet header + frame) to the TAP, one write() each,
// and prints one JSON array of results: 0 for success, else the errno write() failed with.
import { readFileSync, writeSync } from 'node:fs';
import { openTap, closeFd } from './tap.ts';

const ERRNO: Record<string, number> = { EINVAL: 22, EIO: 5, ENOMEM: 12, EFAULT: 14, EMSGSIZE: 90 };

function main(): void {
  const [tap, file] = process.argv.slice(2);
  if (tap === undefined || file === undefined) throw new Error('usage: tap-writer TAP FILE');
  const data = readFileSync(file);
  const fd = openTap(tap, 12, 0);
  const results: number[] = [];
  let off = 0;
  while (off + 4 <= data.length) {
    const len = data.readUInt32LE(off);
    off += 4;
    try {
      writeSync(fd, data, off, len);
      results.push(0);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      results.push(ERRNO[code] ?? -1);
    }
    off += len;
  }
  closeFd(fd);
  process.stdout.write(JSON.stringify(results));
}

main();
