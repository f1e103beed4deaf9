import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** A port nothing listens on, for a server a spec starts (and kills, and starts again on the same port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the CLI to the end; resolves with its exit code and output whatever the code. */
export function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts the CLI as its own process, so it can be killed the hard way. Its stderr is passed on, and can be read too. */
export function spawnCli(...args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(process.stderr);
  return child;
}

/** `mlc-sim serve` as its own process, resolved once it listens. */
export async function serve(siteFile: string, db: string, port: number, ...extra: string[]): Promise<ChildProcess> {
  const child = spawnCli('serve', '--site', siteFile, '--db', db, '--port', String(port), '--log-level', 'error', ...extra);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`serve exited with ${code}`));
    });
  });
  return child;
}

/** Kills a process with SIGKILL (no clean-up of its own) and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

/** A process's resident memory, in MB, as the system counts it. */
export async function residentMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}
