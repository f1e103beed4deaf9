import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * The stub site in a process of its own (`mlc-sim serve`), so the fleet and the site each have a core and a
 * figure for one is not the cost of the other.
 */
export async function startSiteProcess(siteFile: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', 'serve', '--site', siteFile, '--port', '0', '--db', ':memory:', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /listening on (http:\/\/[\w.]+:\d+)/.exec(line)?.[1];
    if (url) {
      return {
        url,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
  }
  throw new Error(`the site process exited before it listened (${siteFile})`);
}
