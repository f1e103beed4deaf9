import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface SiteProcess {
  url: string;
  /** CPU seconds the site process has used so far (user + system); null where /proc is not there to tell. */
  cpuSeconds: () => number | null;
  stop: () => Promise<void>;
}

/**
 * The stub site in a process of its own (`mlc-sim serve`), so the fleet and the site each have a core and a
 * figure for one is not the cost of the other.
 */
export async function startSiteProcess(siteFile: string): Promise<SiteProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'simulator/cli.ts', 'serve', '--site', siteFile, '--port', '0', '--db', ':memory:', '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /listening on (http:\/\/[\w.]+:\d+)/.exec(line)?.[1];
    if (url) {
      return {
        url,
        cpuSeconds: () => processCpuSeconds(child.pid!),
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
  }
  throw new Error(`the site process exited before it listened (${siteFile})`);
}

/** utime + stime of a Linux process, from /proc/<pid>/stat (in clock ticks, 100 a second on Linux). */
function processCpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
