// One oracle run: a fresh netns, one tcpdump capture for the whole batch, one tap-writer process.
// Cases are separated in the capture by marker frames (EtherType 0x88B5, "local experimental")
// written after each case, so a case that the kernel drops leaves an empty slot, not a shift.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSegmenterNamespace,
  destroySegmenterNamespace,
  removeLeftovers,
  NS_PREFIX,
  TAP,
  VETH_CAP,
} from './topology.ts';

const WRITER = fileURLToPath(new URL('./tap-writer.ts', import.meta.url));
const MARKER_TYPE = 0x88b5;
const MARKER_MAGIC = 0x50544d4b; // "PTMK"

export interface CaseResult {
  /** 0 when write() succeeded, else its errno (22 = EINVAL). */
  errno: number;
  /** Frames the kernel put on the wire for this case, in order. */
  frames: Uint8Array[];
}

function markerFrame(index: number): Uint8Array {
  const b = new Uint8Array(12 + 60);
  const v = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa], 12);
  v.setUint16(24, MARKER_TYPE);
  v.setUint32(26, MARKER_MAGIC);
  v.setUint32(30, index);
  return b;
}

function markerIndex(f: Uint8Array): number {
  if (f.length < 22) return -1;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== MARKER_TYPE || v.getUint32(14) !== MARKER_MAGIC) return -1;
  return v.getUint32(18);
}

/** Frames of a little-endian µs/ns pcap as tcpdump writes it (Ethernet link type). */
function tcpdumpFrames(file: Uint8Array): Uint8Array[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  if (file.length < 24) return out;
  let off = 24;
  while (off + 16 <= file.length) {
    const incl = v.getUint32(off + 8, true);
    if (off + 16 + incl > file.length) break; // tcpdump killed mid-record
    out.push(file.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return out;
}

function waitFor(child: ChildProcess, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for "${text}": ${seen}`)), ms);
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`exited before "${text}": ${seen}`)));
  });
}

export class OracleSession {
  readonly ns = `${NS_PREFIX}${process.pid}`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ptnet-oracle-'));
  private counter = 0;

  start(): void {
    removeLeftovers();
    createSegmenterNamespace(this.ns); // replaces a namespace of an earlier process that had our pid
  }

  stop(): void {
    destroySegmenterNamespace(this.ns);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Writes every record (a 12-byte virtio-net header + frame) through the kernel and returns, per
   * record, the write() verdict and the frames captured on the veth peer. `pcapOut` keeps the raw
   * capture (markers included) when given.
   */
  async run(records: readonly Uint8Array[], pcapOut?: string): Promise<CaseResult[]> {
    const id = this.counter++;
    const cap = join(this.dir, `cap${id}.pcap`);
    const input = join(this.dir, `in${id}.bin`);
    const parts: Uint8Array[] = [];
    const len = (n: number): Uint8Array => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n, true);
      return b;
    };
    records.forEach((r, i) => {
      const m = markerFrame(i);
      parts.push(len(r.length), r, len(m.length), m);
    });
    writeFileSync(input, Buffer.concat(parts));
    const tcpdump = spawn(
      'ip',
      ['netns', 'exec', this.ns, 'tcpdump', '-i', VETH_CAP, '-U', '-n', '-s', '0', '-B', '262144', '-w', cap],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    try {
      await waitFor(tcpdump, 'listening on', 10_000);
      const out = execFileSync(
        'ip',
        // One CPU: the receive backlog is per CPU, so a migrating writer could reorder frames.
        [
          'netns',
          'exec',
          this.ns,
          'taskset',
          '-c',
          '0',
          process.execPath,
          '--import',
          'tsx',
          WRITER,
          TAP,
          input,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      const errnos = JSON.parse(out) as number[];
      // Wait until the last marker is on disk (tcpdump -U flushes per packet).
      const last = records.length - 1;
      for (let tries = 0; tries < 100; tries++) {
        const frames = tcpdumpFrames(readFileSync(cap));
        if (frames.some((f) => markerIndex(f) === last)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return this.split(readFileSync(cap), errnos, records.length, pcapOut);
    } finally {
      tcpdump.kill('SIGINT');
      await new Promise((r) => tcpdump.once('exit', r));
    }
  }

  private split(file: Buffer, errnos: number[], n: number, pcapOut?: string): CaseResult[] {
    if (pcapOut !== undefined) writeFileSync(pcapOut, file);
    const results: CaseResult[] = [];
    for (let i = 0; i < n; i++) results.push({ errno: errnos[i * 2] ?? -1, frames: [] });
    let cur = 0;
    for (const f of tcpdumpFrames(file)) {
      const m = markerIndex(f);
      if (m >= 0) {
        if (m !== cur) throw new Error(`oracle capture out of order: marker ${m}, expected ${cur}`);
        cur++;
        continue;
      }
      const r = results[cur];
      if (r === undefined) throw new Error('frame after the last marker');
      r.frames.push(Uint8Array.from(f));
    }
    if (cur !== n) throw new Error(`oracle capture has ${cur} markers, expected ${n}`);
    return results;
  }
}
