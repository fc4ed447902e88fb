// Every input under test/fuzz-corpus/TARGET/ (crashes the fuzzer found, kept with their fixes, and
// hand-picked seeds) replayed through the uninstrumented fuzz target: each must now pass.
// Plus each target's own seeds, so a target that throws on well-formed input fails here first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gso from '../../fuzz/targets/gso.ts';
import * as pcap from '../../fuzz/targets/pcap.ts';
import * as rings from '../../fuzz/targets/rings.ts';
import * as stack from '../../fuzz/targets/stack.ts';
import * as tcp from '../../fuzz/targets/tcp.ts';
import * as vnethdr from '../../fuzz/targets/vnethdr.ts';
import * as wire from '../../fuzz/targets/wire.ts';

const targets = { gso, pcap, rings, stack, tcp, vnethdr, wire };
const DIR = 'test/fuzz-corpus';

describe.each(Object.entries(targets))('fuzz target %s', (name, t) => {
  const dir = join(DIR, name);
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];

  it('accepts its own seeds', () => {
    const seeds = t.seeds();
    expect(seeds.length).toBeGreaterThan(0);
    for (const s of seeds) t.fuzz(s);
  });

  if (files.length === 0) return;
  it.each(files)('replays %s', (f) => {
    const input = new Uint8Array(readFileSync(join(dir, f)));
    expect(input.length).toBeLessThanOrEqual(t.maxLen);
    t.fuzz(input);
  });
});
