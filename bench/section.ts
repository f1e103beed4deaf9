// What every benchmark section shares. A section runs in a child process of its own, so each figure comes from a
// fresh heap: it takes its parameters as JSON on the command line and answers with one JSON line on stdout.
import { setTimeout as sleep } from 'node:timers/promises';

export const RESULT_PREFIX = 'bench-result ';

const collect = (globalThis as { gc?: () => void }).gc;

/** A full garbage collection, so memory figures count what is live, not what is not yet collected. */
export function gc(): void {
  if (!collect) throw new Error('benchmarks run with node --expose-gc (npm run bench does)');
  collect();
  collect();
}

/** Runs a section: parameters in, one result line out, and exit (servers and timers need not be unwound). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- P is the parameters each section declares; run.ts writes them as JSON
export async function section<P, R>(run: (params: P) => Promise<R>): Promise<void> {
  const result = await run(JSON.parse(process.argv[2] ?? '{}') as P);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** CPU this process used over `ms` of wall time, as a percentage of one core. */
export async function cpuPercentOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
