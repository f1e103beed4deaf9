import { access, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cli, killHard, spawnCli } from './support/processes.js';

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

  it('refuses a dashboard port out of range, and a dashboard over several workers, naming the flag', async () => {
    const range = await cli('run', '--dashboard', '70000');
    expect(range.code).to.equal(1);
    expect(range.stderr).to.include('--dashboard must be a port number from 0 to 65535, got "70000"');
    const workers = await cli('run', '--dashboard', '--workers', '2');
    expect(workers.code).to.equal(1);
    expect(workers.stderr.trim()).to.equal('error: --dashboard watches the fleet of one thread: run it with --workers 1');
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
      '--keep-trying',
      '--no-progress',
    );
    expect(code).to.equal(0);
    expect(stdout).to.match(/Poll\s+│\s+\d+/);
  });

  it('checks --out before the run: an unwritable directory is an error at once, not after the run', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-out-')), 'a-file');
    await writeFile(file, 'not a directory');
    const { code, stderr, stdout } = await cli('run', '--out', path.join(file, 'report'), '--no-progress');
    expect(code).to.equal(1);
    // A file where a directory should be: EEXIST or ENOTDIR, as the file system says.
    expect(stderr.trim()).to.match(/^error: --out .*a-file\/report: cannot be written \((EEXIST|ENOTDIR)\)$/);
    expect(stdout, 'no run happened').to.equal('');
  });

  it('names a --state-dir that cannot be used, and exits rather than hanging with the site up', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-state-')), 'a-file');
    await writeFile(file, 'not a directory');
    const { code, stderr } = await cli('run', '--state-dir', path.join(file, 'state'), '--no-progress');
    expect(code).to.equal(2);
    expect(stderr.trim()).to.match(/^error: .*a-file\/state: --state-dir: cannot be used: (EEXIST|ENOTDIR)/);
  });

  it('finds a timeline action naming an advertisement that does not exist when the scenario loads', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-scenario-'));
    const file = path.join(dir, 'scenario.yaml');
    const lines = [
      'name: bad reference',
      `site: ${path.resolve('config/site.yaml')}`,
      `fleet: ${path.resolve('config/fleet.yaml')}`,
      'timeline:',
      '  - { at: "00:10", action: expire, advertisementId: MLC2FFFF }',
    ];
    await writeFile(file, lines.join('\n'));
    const { code, stderr } = await cli('run', file, '--no-progress');
    expect(code).to.equal(2);
    expect(stderr.trim()).to.equal(
      `error: ${file}: timeline.0.advertisementId: advertisement MLC2FFFF is neither in the site nor advertised before this action`,
    );
  });

  it('names the site file of a dangling reference', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-site-')), 'site.yaml');
    const lines = [
      'collections: [{ id: ALL, name: All, rule: { allDevices: true } }]',
      'advertisements:',
      '  - { id: MLC20001, name: x, collectionId: NOPE, packageId: MLC00001 }',
    ];
    await writeFile(file, lines.join('\n'));
    const { code, stderr } = await cli('serve', '--site', file, '--port', '0', '--db', ':memory:');
    expect(code).to.equal(2);
    expect(stderr.trim()).to.equal(`error: ${file}: advertisements.0.collectionId: collection NOPE does not exist`);
  });

  it('refuses a fleet this machine cannot hold, and more workers than cores or devices, saying why', async () => {
    const huge = await cli('run', '--devices', '1000000000', '--no-progress');
    expect(huge.code).to.equal(1);
    expect(huge.stderr.trim()).to.match(
      /^error: --devices 1000000000: more than this machine can hold \(at most [\d,]+: about 8 KB a device, in half of its \d+ GB\)$/,
    );
    const workers = await cli('run', '--devices', '5', '--workers', '64', '--no-progress');
    expect(workers.code).to.equal(1);
    expect(workers.stderr.trim()).to.match(/^error: --workers 64: more than twice this machine's \d+ cores \(at most \d+\)$/);
    const fewer = await cli('fleet', '--server', 'http://127.0.0.1:9', '--devices', '1', '--workers', '2', '--no-progress');
    expect(fewer.stderr.trim()).to.equal('error: --workers 2: more workers than the 1 devices to share between them');
  });

  it('names an unreachable --server, unless asked to keep trying', async () => {
    const { code, stderr } = await cli('fleet', '--server', 'http://127.0.0.1:9', '--devices', '2', '--no-progress');
    expect(code).to.equal(1);
    expect(stderr.trim()).to.equal('error: --server http://127.0.0.1:9/: cannot be reached (ECONNREFUSED); start it, or pass --keep-trying to start anyway');
  });

  it('refuses a --state-dir another run holds', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-locked-'));
    const holder = spawnCli('run', '--devices', '20', '--state-dir', stateDir, '--speed', '1', '--duration', '01:00', '--no-progress');
    try {
      // The holder has its lock once its state database exists.
      while (
        !(await access(path.join(stateDir, 'devices.db')).then(
          () => true,
          () => false,
        ))
      )
        await new Promise((r) => setTimeout(r, 100));
      const { code, stderr } = await cli('run', '--devices', '5', '--state-dir', stateDir, '--no-progress');
      expect(code).to.equal(2);
      expect(stderr.trim()).to.equal(`error: ${stateDir}: --state-dir: in use by another mlc-sim run (one process at a time)`);
    } finally {
      await killHard(holder);
    }
  });
});
