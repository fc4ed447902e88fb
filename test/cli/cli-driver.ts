// Runs many `ptnet-ts` command lines in one process (a tsx start per run would take minutes):
// node --import tsx cli-driver.ts JOBS.json RESULTS.json, JOBS being a list of argument lists.
// For each it records the exit code main() returns, what went to stderr, and whether main()
// itself threw (a crash the bin would show as a stack trace). Standard output is discarded by
// the caller (pcap dump writes to fd 1 directly).
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';

export interface DriverResult {
  args: string[];
  code: number | null;
  stderr: string;
  threw: string | null;
}

const [jobsFile, resultsFile] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobsFile!, 'utf8')) as string[][];
const results: DriverResult[] = [];
const realErr = process.stderr.write.bind(process.stderr);
const realOut = process.stdout.write.bind(process.stdout);
let err = '';
process.stderr.write = ((s: string | Uint8Array) => {
  err += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
  return true;
}) as typeof process.stderr.write;
process.stdout.write = (() => true) as typeof process.stdout.write;
for (const args of jobs) {
  err = '';
  let code: number | null = null;
  let threw: string | null = null;
  try {
    code = await main(args);
  } catch (e) {
    threw = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  }
  results.push({ args, code, stderr: err, threw });
}
process.stderr.write = realErr;
process.stdout.write = realOut;
writeFileSync(resultsFile!, JSON.stringify(results));
