// docs/ARCHITECTURE.md's TX walk must name every source file that runs between `socket.write`
// and the TX slot. scripts/walk.ts measures it (V8 precise coverage over one write on a warm
// inline VALE connection); a file that starts running on that path without the walk saying so
// fails here, as does a walk that stops running at all.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readRel } from './docs-lib.ts';

describe('the TX walk in docs/ARCHITECTURE.md', () => {
  it('names every file that runs in socket.write, outside the host side', () => {
    const out = execFileSync('npx', ['tsx', 'scripts/walk.ts', '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const { files } = JSON.parse(out.trim().split('\n').at(-1)!) as { files: Record<string, string[]> };
    const ran = Object.keys(files).filter((f) => !f.startsWith('src/host/') && !f.startsWith('src/device/'));
    // The write really reached the driver: the walk measured something.
    expect(files['src/driver/netif.ts']).toContain('transmit');
    expect(files['src/stack/tcp/tcp.ts']).toContain('sendSegment');
    const md = readRel('docs/ARCHITECTURE.md');
    const walk = /^## The TX walk[\s\S]*?(?=^## )/m.exec(md)?.[0] ?? '';
    // Named from src/ (`driver/netif.ts`) or, inside the stack, from src/stack/ (`tcp/tcb.ts`).
    const missing = ran.filter(
      (f) => !walk.includes(f.slice(4)) && !walk.includes(f.replace(/^src\/stack\//, '')),
    );
    expect(missing).toEqual([]);
    // The figure the section states is the one measured.
    expect(walk).toContain(`Outside \`src/host\` and \`src/device\`: ${ran.length} files`);
    // The hop files it lists all run, there are at most 10 (issue 13's bound), and the count the
    // text gives is the list's length. Which running files are hops and which are leaves
    // (views, checksums, bookkeeping) is the section's judgement; that a listed file runs is not.
    const hops = [
      ...(/\x3c!-- hop-files -->([\s\S]*?)\x3c!-- \/hop-files -->/.exec(walk)?.[1] ?? '').matchAll(
        /`([^`]+)`/g,
      ),
    ].map((x) => x[1]!);
    expect(hops.length).toBeGreaterThan(0);
    expect(hops.filter((f) => files[f] === undefined)).toEqual([]);
    expect(hops.length).toBeLessThanOrEqual(10);
    expect(walk).toContain(`That is ${hops.length} files`);
  }, 90_000);
});
