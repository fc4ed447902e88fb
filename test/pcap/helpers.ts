// Test helpers: temporary files and a byte-level pcapng block builder for hand-made inputs.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../src/pcap/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ptnet-pcap-'));
let n = 0;

export function tmpPath(ext = 'bin'): string {
  return join(dir, `f${n++}.${ext}`);
}

export function removeTmp(): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `fill` with a fresh write descriptor and returns the file's path. */
export function writeWith(fill: (fd: number) => void, ext = 'bin'): string {
  const path = tmpPath(ext);
  const fd = openSync(path, 'w');
  try {
    fill(fd);
  } finally {
    closeSync(fd);
  }
  return path;
}

export function writeBytes(bytes: Uint8Array): string {
  const path = tmpPath();
  writeFileSync(path, bytes);
  return path;
}

export interface ReadBack {
  interfaceId: number;
  section: number;
  interfaceIndex: number;
  linktype: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origlen: number;
  comment: string | null;
  offset: number;
  data: Uint8Array;
}

/** Reads a whole capture, copying each packet out of the reader's reused record. */
export function readAll(path: string): ReadBack[] {
  const r = openCapture(path);
  try {
    const out: ReadBack[] = [];
    for (const p of r) {
      out.push({
        interfaceId: p.interfaceId,
        section: p.section,
        interfaceIndex: p.interfaceIndex,
        linktype: p.linktype,
        tsSec: p.tsSec,
        tsNsec: p.tsNsec,
        caplen: p.caplen,
        origlen: p.origlen,
        comment: p.comment,
        offset: p.offset,
        data: p.data.slice(),
      });
    }
    return out;
  } finally {
    r.close();
  }
}

/** Builds pcapng blocks byte by byte in one byte order. */
export class Blocks {
  private readonly parts: number[] = [];
  constructor(private readonly le = true) {}

  u8(...xs: number[]): this {
    this.parts.push(...xs);
    return this;
  }
  u16(x: number): this {
    return this.le ? this.u8(x & 0xff, x >>> 8) : this.u8(x >>> 8, x & 0xff);
  }
  u32(x: number): this {
    const b = [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
    return this.u8(...(this.le ? b.reverse() : b));
  }
  /** A block: type, total length, body (padded to 4), total length again. */
  block(type: number, body: number[], totalOverride?: number, trailerOverride?: number): this {
    const padded = [...body, ...new Array<number>((4 - (body.length % 4)) % 4).fill(0)];
    const total = padded.length + 12;
    this.u32(type).u32(totalOverride ?? total);
    this.parts.push(...padded);
    return this.u32(trailerOverride ?? totalOverride ?? total);
  }
  body(): number[] {
    return this.parts.splice(0);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Body helpers in the same byte order as `b`. */
export function shbBody(le = true): number[] {
  return new Blocks(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).body();
}

export function idbBody(linktype: number, snaplen: number, le = true, options: number[] = []): number[] {
  return [...new Blocks(le).u16(linktype).u16(0).u32(snaplen).body(), ...options];
}

export function epbBody(
  iface: number,
  caplen: number,
  origlen: number,
  data: number[],
  le = true,
  options: number[] = [],
): number[] {
  const b = new Blocks(le).u32(iface).u32(0).u32(1_000_000).u32(caplen).u32(origlen).body();
  const padded = [...data, ...new Array<number>((4 - (data.length % 4)) % 4).fill(0)];
  return [...b, ...padded, ...options];
}

/**
 * For describe.skipIf: true (with a one-line reason) when tshark is missing; under CI=true a
 * missing tshark fails instead.
 */
export function skipWithoutTshark(suite: string): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${suite}: tshark is required under CI=true`);
    console.warn(`skipping ${suite}: tshark not installed`);
    return true;
  }
}

/** mulberry32: a small seeded generator of floats in [0, 1), so a seed replays a run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
