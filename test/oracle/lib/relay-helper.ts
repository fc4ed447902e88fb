// Oracle direction B (docs/SPEC.md §9): joins two TAPs living in two netns, copying whole
// virtio-net header + frame buffers both ways, so each kernel sees the other's GSO super-frames.
// Every buffer read from the first TAP is recorded (u32 LE length + bytes) into OUT when stdin closes.
// Usage: node --import tsx relay-helper.ts NS_A TAP_A NS_B TAP_B OUT
import { read, writeFileSync, writeSync } from 'node:fs';
import { LinuxTap } from '../../../src/host/tap/index.ts';
import { TunOffload } from '../../../src/vnethdr/index.ts';
import { enterNetns } from '../../support/netns.ts';

const [nsA, tapA, nsB, tapB, outFile] = process.argv.slice(2);
if (outFile === undefined) throw new Error('usage: relay-helper NS_A TAP_A NS_B TAP_B OUT');
const OFFLOAD =
  TunOffload.CSUM |
  TunOffload.TSO4 |
  TunOffload.TSO6 |
  TunOffload.TSO_ECN |
  TunOffload.UFO |
  TunOffload.USO4 |
  TunOffload.USO6;
// Blocking descriptors: fs.read waits on them in libuv's thread pool.
const opts = { vnetHdrLen: 12, offloads: OFFLOAD, nonBlocking: false } as const;
enterNetns(nsA!);
const fdA = LinuxTap.open(tapA!, opts).fd;
enterNetns(nsB!);
const fdB = LinuxTap.open(tapB!, opts).fd;
const recorded: Buffer[] = [];

function pump(from: number, to: number, record: boolean): void {
  const buf = Buffer.alloc(65_601 + 64);
  const again = (): void => {
    read(from, buf, 0, buf.length, null, (err, n) => {
      if (err) return; // fd closed at exit
      if (record) {
        const rec = Buffer.alloc(4 + n);
        rec.writeUInt32LE(n, 0);
        buf.copy(rec, 4, 0, n);
        // Bytes 10..11 (num_buffers) are never written by the kernel: store them as zero.
        rec.fill(0, 14, 16);
        recorded.push(rec);
      }
      try {
        writeSync(to, buf, 0, n);
      } catch {
        // the other kernel refused it: keep relaying
      }
      again();
    });
  };
  again();
}

pump(fdA, fdB, true);
pump(fdB, fdA, false);
process.stdout.write('ready\n');
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => {
  writeFileSync(outFile, Buffer.concat(recorded));
  process.exit(0);
});
