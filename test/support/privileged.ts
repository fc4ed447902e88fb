// Gate for suites that need root, /dev/net/tun and kernel tools (the Linux oracle, TAP interop).
// Under CI=true a missing prerequisite fails the suite; elsewhere the suite skips with one line.
import { accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';

function missingTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/** Returns null when the privileged suite can run, else the reason it cannot. */
export function privilegedUnavailable(
  tools: readonly string[] = ['ip', 'tc', 'tcpdump', 'tshark'],
): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is not accessible';
  }
  const missing = tools.filter(missingTool);
  return missing.length > 0 ? `missing tools: ${missing.join(', ')}` : null;
}

/**
 * For `describe.skipIf(...)`: true when the suite must skip. Throws under CI=true, because CI must
 * run every privileged suite.
 */
export function skipPrivileged(suite: string, tools?: readonly string[]): boolean {
  const reason = privilegedUnavailable(tools);
  if (reason === null) return false;
  if (process.env.CI === 'true') throw new Error(`${suite}: required under CI=true but ${reason}`);
  console.warn(`skipping ${suite}: ${reason}`);
  return true;
}
