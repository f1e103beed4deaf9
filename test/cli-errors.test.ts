import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

/** Runs the CLI; resolves with its exit code and output whatever the code. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('everyday mistakes get one clear line and the exit code for a bad flag', function () {
  this.timeout(60_000);

  it('prints the version', async () => {
    const { code, stdout } = await cli('--version');
    expect(code).to.equal(0);
    expect(stdout.trim()).to.match(/^\d+\.\d+\.\d+$/);
  });

  it('refuses a port out of range, naming the flag', async () => {
    const { code, stderr } = await cli('serve', '--port', '70000');
    expect(code).to.equal(1);
    expect(stderr).to.include('--port must be a port number from 0 to 65535, got "70000"');
  });

  it('says a port is in use, with no stack trace', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = busy.address() as net.AddressInfo;
      const { code, stderr } = await cli('serve', '--port', String(port), '--db', ':memory:');
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal(`error: --port ${port}: the address is in use (another serve, or another program)`);
    } finally {
      busy.close();
    }
  });

  it('says a host is not an address of this machine', async () => {
    const { code, stderr } = await cli('serve', '--port', '0', '--host', 'no.such.host.invalid', '--db', ':memory:');
    expect(code).to.equal(1);
    expect(stderr.trim()).to.equal('error: --host no.such.host.invalid: not an address of this machine');
  });

  it('names the --db file that is not a database', async () => {
    const db = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-db-')), 'status.db');
    await writeFile(db, 'not a database at all, but long enough to look like a file header');
    const { code, stderr } = await cli('serve', '--port', '0', '--db', db);
    expect(code).to.equal(1);
    expect(stderr).to.match(new RegExp(`^error: --db ${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a status database`));
  });

  it('refuses a --server that is not a URL', async () => {
    const { code, stderr } = await cli('fleet', '--server', 'notaurl');
    expect(code).to.equal(1);
    expect(stderr).to.include('--server must be an http:// or https:// URL, got "notaurl"');
  });

  it('takes --stagger-minutes 0: every device at once', async () => {
    const { code, stdout } = await cli(
      'fleet',
      '--server',
      'http://127.0.0.1:9',
      '--devices',
      '2',
      '--stagger-minutes',
      '0',
      '--duration-minutes',
      '0.02',
      '--no-progress',
    );
    expect(code).to.equal(0);
    expect(stdout).to.match(/Poll\s+│\s+\d+/);
  });
});
