// main()'s last line of defence: a fault a command failed to turn into a typed error still ends
// in one line (a JSON object with --json) and exit 2, never a stack trace; DEBUG shows the stack.
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/cli/gso.ts', () => ({
  run: async (): Promise<number> => {
    throw new RangeError('a fault nobody typed\n  on two lines');
  },
}));

const { main } = await import('../../src/cli/main.ts');

async function capture(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await main(args), err };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('main: an untyped fault from a command', () => {
  it('one line naming the command and the error, exit 2', async () => {
    vi.stubEnv('DEBUG', undefined);
    const r = await capture(['gso', 'a', 'b']);
    expect(r).toEqual({
      code: 2,
      err: 'ptnet-ts gso: internal error: RangeError: a fault nobody typed on two lines\n',
    });
  });

  it('with --json: one JSON object with code INTERNAL', async () => {
    vi.stubEnv('DEBUG', undefined);
    const r = await capture(['gso', 'a', 'b', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.err)).toEqual({
      command: 'gso',
      code: 'INTERNAL',
      message: 'internal error: RangeError: a fault nobody typed on two lines',
      exitCode: 2,
    });
  });

  it('DEBUG set: the stack follows the line', async () => {
    vi.stubEnv('DEBUG', 'ptnet:*');
    const r = await capture(['gso', 'a', 'b']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(/^ptnet-ts gso: internal error: RangeError/);
    expect(r.err).toMatch(/^\s+at /m);
  });
});
