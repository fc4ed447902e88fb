// Waits for a condition on real time, for tests whose peers run on timers and threads: a fixed
// pause is a guess that a loaded machine breaks, a condition is not.

/** Resolves once cond() holds; throws after `ms` with `what` in the message. */
export async function until(cond: () => boolean, ms = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
