import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { baseImageOf } from '../src/device/base-images.js';
import { readCabinet, writeCabinet, type CabinetFile } from '../src/device/cab.js';
import { DeviceError } from '../src/device/device-error.js';
import { openDevice, PRISTINE, stateOf, type DeviceState } from '../src/device/device-state.js';
import { parseScript } from '../src/device/dms-script.js';
import { ATTRIBUTE } from '../src/device/file-system.js';
import { postInstall, type PackageFile, type PostInstall } from '../src/device/post-install.js';
import { parseRegFile } from '../src/device/registry.js';
import { seededRandom } from '../src/random.js';

const MB = 1024 * 1024;
const NOW = Date.parse('2009-06-01T08:00:00Z');
const PROFILE: PostInstall['profile'] = {
  platform: 'Windows Mobile 6.5',
  freeStorageBytes: 8 * MB,
  storageCard: { sizeBytes: 4 * MB, usedBytes: 3 * MB },
  programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 10, max: 10 }, restartSeconds: 60 },
};

const file = (name: string, text: string | Buffer): PackageFile => ({ name, data: Buffer.isBuffer(text) ? text : Buffer.from(text) });
const cabFile = (name: string, text: string | Buffer): CabinetFile => ({ ...file(name, text), attributes: 0x20, modified: new Date(NOW) });

function install(commandLine: string, files: PackageFile[], overrides: Partial<PostInstall> = {}) {
  return postInstall({
    commandLine,
    localDestination: '\\Temp\\PKG1',
    files,
    profile: PROFILE,
    state: PRISTINE,
    random: seededRandom(1),
    now: NOW,
    budgetMs: 3_600_000,
    resume: null,
    ...overrides,
  });
}

function look(state: DeviceState) {
  return openDevice(PROFILE, state, NOW);
}

describe('the device: file system, registry, CAB, script engine, post-install command', () => {
  describe('file system and registry over a shared base image', () => {
    it('a device that changed nothing holds the shared pristine record; a change is kept as a difference only', () => {
      const session = openDevice(PROFILE, PRISTINE, NOW);
      expect(stateOf(session)).to.equal(PRISTINE);
      session.files.writeFile('\\Program Files\\App\\app.exe', { size: 1000 });
      const state = stateOf(session);
      expect(Object.keys(state.files)).to.deep.equal(['\\program files\\app', '\\program files\\app\\app.exe']);
      expect(baseImageOf('Windows Mobile 6.5').files.has('\\program files\\app\\app.exe')).to.equal(false);
      session.files.delete('\\Program Files\\App\\app.exe');
      expect(stateOf(session)).to.equal(PRISTINE);
    });

    it('is plain data: what a device remembers across a simulator restart (JSON) opens to the same files and registry', () => {
      const result = install('wceload.exe /delete 0 Tool.cab', [file('Tool.cab', writeCabinet([cabFile('tool.exe', 'FileVersion=1.2\n')]))]);
      const restored = JSON.parse(JSON.stringify(result.state)) as DeviceState;
      expect(look(restored).files.entries()).to.deep.equal(look(result.state).files.entries());
      expect(look(restored).registry.keys()).to.deep.equal(look(result.state).registry.keys());
      expect(look(restored).files.stat('\\Program Files\\Tool\\tool.exe')?.version).to.equal('1.2');
    });

    it('volumes have sizes and free space; a write that does not fit names the volume and the numbers', () => {
      const { files } = openDevice(PROFILE, PRISTINE, NOW);
      const card = files.volumeOf('\\Storage Card\\x.bin');
      expect(card.name).to.equal('Storage Card');
      expect(files.freeBytes(card)).to.equal(1 * MB);
      expect(() => {
        files.writeFile('\\Storage Card\\big.bin', { size: 2 * MB });
      })
        .to.throw(DeviceError, 'volume \\Storage Card full: needs 2.0 MB, 1.0 MB free')
        .with.property('reason', 'VolumeFull');
    });

    it('ROM files are read-only; rename stays on its volume; delete removes empty parents', () => {
      const { files } = openDevice(PROFILE, PRISTINE, NOW);
      expect(() => {
        files.delete('\\Windows\\wceload.exe');
      }).to.throw(DeviceError, 'read-only');
      files.writeFile('\\Temp\\a\\b\\c.txt', { size: 10 });
      expect(() => {
        files.rename('\\Temp\\a', '\\Storage Card\\a');
      }).to.throw(DeviceError, 'another volume');
      files.delete('\\Temp\\a\\b\\c.txt');
      expect(files.stat('\\Temp\\a')).to.equal(undefined);
      expect(files.stat('\\Temp')?.directory).to.equal(true);
    });

    it('a .reg file imports keys and values of every type; a bad line fails the whole import, naming the line', () => {
      const { registry } = openDevice(PROFILE, PRISTINE, NOW);
      const text = [
        'REGEDIT4',
        '[HKEY_LOCAL_MACHINE\\Software\\Acme\\Scanner]',
        '"Version"="3.2"',
        '"Beep"=dword:00000001',
        '@="default"',
        '"Key"=hex:01,02,ff',
        '"Path"=hex(2):25,00,43,00,00,00',
        '[HKEY_CURRENT_USER\\ControlPanel\\Owner]',
        '"Name"=-',
      ].join('\r\n');
      registry.import(parseRegFile(text, '\\Temp\\a.reg'));
      expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'version')).to.deep.equal({ name: 'Version', type: 'REG_SZ', data: '3.2' });
      expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'Beep')?.data).to.equal('1');
      expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'Key')?.data).to.equal('0102ff');
      expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'Path')).to.include({ type: 'REG_EXPAND_SZ', data: '%C' });
      expect(registry.value('HKCU\\ControlPanel\\Owner', 'Name')).to.equal(undefined);
      expect(() => parseRegFile('REGEDIT4\r\n[HKEY_LOCAL_MACHINE\\X]\r\n"A"=word:1', '\\Temp\\bad.reg')).to.throw(DeviceError, '\\Temp\\bad.reg line 3');
      expect(() => parseRegFile('[HKLM\\X]', 'x.reg')).to.throw(DeviceError, 'not a .reg file');
      expect(() => parseRegFile('REGEDIT4\r\n[HKEY_CLASSES_ROOT\\X]', 'x.reg')).to.throw(DeviceError, 'not under HKLM or HKCU');
    });
  });

  describe('Microsoft Cabinet archives', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-cab-'));
      await writeFile(path.join(dir, 'scanner.exe'), 'FileVersion=3.2.0.0\n'.repeat(5000));
      await writeFile(path.join(dir, 'readme.txt'), 'hello');
    });

    for (const [kind, flags] of [
      ['stored', []],
      ['MSZIP', ['-z']],
    ] as const) {
      it(`reads a ${kind} cabinet that gcab made`, async () => {
        execFileSync('gcab', ['-c', ...flags, path.join(dir, `${kind}.cab`), 'scanner.exe', 'readme.txt'], { cwd: dir });
        const files = readCabinet(await readFile(path.join(dir, `${kind}.cab`)));
        expect(files.map((f) => [f.name, f.data.length])).to.deep.equal([
          ['scanner.exe', 100_000],
          ['readme.txt', 5],
        ]);
        expect(files[0]!.data.equals(await readFile(path.join(dir, 'scanner.exe')))).to.equal(true);
      });
    }

    for (const compression of ['none', 'mszip'] as const) {
      it(`writes a ${compression} cabinet that cabextract tests clean and gcab extracts to the same bytes`, async () => {
        const big = Buffer.alloc(150_000, 'abcdefghij');
        const cab = path.join(dir, `mine-${compression}.cab`);
        await writeFile(cab, writeCabinet([cabFile('sub\\big.bin', big), cabFile('small.txt', 'x')], compression));
        expect(execFileSync('cabextract', ['-t', cab]).toString()).to.include('All done, no errors');
        const out = await mkdtemp(path.join(dir, 'x-'));
        execFileSync('gcab', ['-x', '-C', out, cab]);
        expect((await readFile(path.join(out, 'sub', 'big.bin'))).equals(big)).to.equal(true);
      });
    }

    it('refuses what is not a cabinet, or is cut short', () => {
      expect(() => readCabinet(Buffer.from('MSCF simulated'), 'x.cab')).to.throw(DeviceError, 'x.cab: not a Microsoft Cabinet');
      const cab = writeCabinet([cabFile('a.txt', 'hello world')]);
      expect(() => readCabinet(cab.subarray(0, cab.length - 4), 'y.cab')).to.throw(DeviceError, 'y.cab: cut short');
    });
  });

  describe('wceload', () => {
    const setup = `<wap-provisioningdoc>
      <characteristic type="Install"><parm name="AppName" value="Acme Scanner"/><parm name="InstallDir" value="%CE1%\\Acme Scanner"/></characteristic>
      <characteristic type="FileOperation">
        <characteristic type="%CE1%\\Acme Scanner"><characteristic type="MakeDir"/>
          <characteristic type="scanner.exe"><characteristic type="Extract"><parm name="Source" value="SCANNE~1.001"/></characteristic></characteristic>
        </characteristic>
      </characteristic>
      <characteristic type="Registry"><characteristic type="HKLM\\Software\\Acme\\Scanner"><parm name="Version" value="3.2" datatype="string"/></characteristic></characteristic>
    </wap-provisioningdoc>`;
    const cab = writeCabinet([cabFile('_setup.xml', setup), cabFile('SCANNE~1.001', 'FileVersion=3.2.0.0\nCompanyName=Acme\n')]);

    it('installs a cabinet where its _setup.xml says, with its registry settings, and deletes the CAB', () => {
      const result = install('wceload.exe /noui Scanner.cab', [file('Scanner.cab', cab)]);
      expect(result.outcome).to.deep.equal({ kind: 'exited', exitCode: 0 });
      const { files, registry } = look(result.state);
      expect(files.stat('\\Program Files\\Acme Scanner\\scanner.exe')).to.include({ version: '3.2.0.0', company: 'Acme', size: 37 });
      expect(files.stat('\\Temp\\PKG1\\Scanner.cab')).to.equal(undefined);
      expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'Version')?.data).to.equal('3.2');
      expect(registry.value('HKLM\\Software\\Apps\\Acme Scanner', 'Instl')?.data).to.equal('1');
    });

    it('keeps the CAB with /delete 0; without _setup.xml puts every file in \\Program Files\\<cab name>', () => {
      const plain = writeCabinet([cabFile('tool.exe', 'x')]);
      const { files } = look(install('\\Windows\\wceload.exe /noaskdest /delete 0 \\Temp\\PKG1\\Tool.cab', [file('Tool.cab', plain)]).state);
      expect(files.stat('\\Program Files\\Tool\\tool.exe')?.size).to.equal(1);
      expect(files.stat('\\Temp\\PKG1\\Tool.cab')?.size).to.equal(plain.length);
    });

    it('devices that received the same cabinet bytes each install it on their own state, and fail from their own', () => {
      const shared = [file('Scanner.cab', cab)];
      const first = install('wceload.exe /noui Scanner.cab', shared);
      const elsewhere = install('wceload.exe /noui Scanner.cab', shared, { localDestination: '\\Storage Card\\PKG1' });
      expect(look(elsewhere.state).registry.value('HKLM\\Software\\Apps\\Acme Scanner', 'CabFile')?.data).to.equal('\\Storage Card\\PKG1\\Scanner.cab');
      // A device whose scanner.exe is read-only: the install stops there, keeping the directory it made.
      const session = look(PRISTINE);
      session.files.writeFile('\\Program Files\\Acme Scanner\\scanner.exe', { size: 1 }, ATTRIBUTE.READONLY);
      const locked = install('wceload.exe /noui Scanner.cab', shared, { state: stateOf(session) });
      expect(locked.outcome).to.deep.include({ kind: 'failed', reason: 'AccessDenied' });
      expect(look(locked.state).registry.value('HKLM\\Software\\Apps\\Acme Scanner', 'Instl')).to.equal(undefined);
      // The next fresh device installs exactly as the first did.
      expect(install('wceload.exe /noui Scanner.cab', shared).state).to.deep.equal(first.state);
    });

    it('fails from what happened: a missing CAB, a file that is not a cabinet, an unknown switch', () => {
      expect(install('wceload.exe Missing.cab', [file('readme.txt', 'x')]).outcome).to.deep.equal({
        kind: 'failed',
        reason: 'FileNotFound',
        detail: '\\Temp\\PKG1\\Missing.cab does not exist',
      });
      expect(install('wceload.exe Fake.cab', [file('Fake.cab', 'MSCF not really')]).outcome).to.include({ kind: 'failed', reason: 'BadCabinet' });
      expect(install('wceload.exe /bogus X.cab', [file('X.cab', cab)]).outcome).to.deep.include({
        reason: 'BadCabinet',
        detail: 'wceload: unknown switch /bogus',
      });
    });
  });

  describe('the script engine', () => {
    const run = (script: string, extra: PackageFile[] = [], overrides: Partial<PostInstall> = {}) =>
      install('setup.dms', [file('setup.dms', script), ...extra], overrides);

    it('runs every file system command', () => {
      const result = run(
        [
          '; comment',
          '# another',
          'rem and another',
          'createdir "\\Program Files\\Acme\\data"',
          'copy \\Temp\\PKG1\\app.exe "\\Program Files\\Acme\\app.exe"',
          'copy \\Temp\\PKG1\\conf "\\Program Files\\Acme\\conf"',
          'rename "\\Program Files\\Acme\\conf\\a.ini" "\\Program Files\\Acme\\conf\\b.ini"',
          'setattrs "\\Program Files\\Acme\\app.exe" READONLY|HIDDEN',
          'delete \\Temp\\PKG1\\conf',
          'delete \\Temp\\nothing-here',
          'echo "done"',
        ].join('\r\n'),
        [file('app.exe', 'FileVersion=1.0\n'), file('conf/a.ini', 'x=1')],
      );
      expect(result.outcome).to.deep.equal({ kind: 'exited', exitCode: 0 });
      const { files } = look(result.state);
      expect(files.stat('\\Program Files\\Acme\\data')?.directory).to.equal(true);
      expect(files.stat('\\Program Files\\Acme\\app.exe')).to.include({ version: '1.0', attributes: ATTRIBUTE.READONLY | ATTRIBUTE.HIDDEN });
      expect(files.stat('\\Program Files\\Acme\\conf\\b.ini')?.size).to.equal(3);
      expect(files.stat('\\Temp\\PKG1\\conf')).to.equal(undefined);
    });

    it('loadreg imports a .reg file and savereg writes one; a bad .reg fails the script as a failed registry import', () => {
      const reg = 'REGEDIT4\r\n[HKEY_LOCAL_MACHINE\\Software\\Acme]\r\n"Mode"="warehouse"\r\n';
      const ok = run('loadreg \\Temp\\PKG1\\acme.reg\r\nsavereg \\Temp\\saved.reg HKLM\\Software\\Acme', [file('acme.reg', reg)]);
      expect(look(ok.state).registry.value('HKLM\\Software\\Acme', 'Mode')?.data).to.equal('warehouse');
      expect(look(ok.state).files.stat('\\Temp\\saved.reg')?.size).to.be.greaterThan(20);
      const bad = run('loadreg \\Temp\\PKG1\\acme.reg', [file('acme.reg', 'REGEDIT4\r\n"Mode"="x"')]);
      expect(bad.outcome).to.deep.equal({
        kind: 'failed',
        reason: 'RegistryImportFailed',
        detail: '\\Temp\\PKG1\\setup.dms line 1: \\Temp\\PKG1\\acme.reg line 2: a value before any [key]',
      });
    });

    it('variables, conditions of every type, else/elseif, goto and labels', () => {
      const result = run(
        [
          'set target \\Temp\\out',
          'if number 3 > 2',
          '  createdir %target%\\number',
          'endif',
          'if string "abc" contains b',
          '  createdir %target%\\string',
          'elseif boolean TRUE == YES',
          '  createdir %target%\\wrong',
          'else',
          '  createdir %target%\\wrong',
          'endif',
          'if version 3.10 > 3.9',
          '  createdir %target%\\version',
          'endif',
          'if datetime today > 2009-1-1 0:0:0',
          '  createdir %target%\\datetime',
          'endif',
          'if boolean `pkginstalled Acme` == FALSE',
          '  createdir %target%\\notinstalled',
          'endif',
          'goto skip',
          'createdir %target%\\skipped',
          ':skip',
          'set target',
          'createdir \\Temp\\%target%',
        ].join('\n'),
      );
      const { files } = look(result.state);
      const made = files.under('\\Temp\\out').map((e) => e.path);
      expect(made).to.deep.equal(['\\Temp\\out\\datetime', '\\Temp\\out\\notinstalled', '\\Temp\\out\\number', '\\Temp\\out\\string', '\\Temp\\out\\version']);
      expect(files.stat('\\Temp\\%target%')?.directory).to.equal(true);
    });

    it('onerror jumps to its label on a failing command; abort fails, quit succeeds', () => {
      const recovered = run(
        ['onerror cleanup', 'copy \\Temp\\missing.exe \\Temp\\x.exe', 'abort', ':cleanup', 'createdir \\Temp\\recovered', 'quit', 'abort'].join('\n'),
      );
      expect(recovered.outcome).to.deep.equal({ kind: 'exited', exitCode: 0 });
      expect(look(recovered.state).files.stat('\\Temp\\recovered')?.directory).to.equal(true);
      expect(run('createdir \\Temp\\a\nabort').outcome).to.deep.equal({
        kind: 'failed',
        reason: 'ScriptAborted',
        detail: '\\Temp\\PKG1\\setup.dms line 2: abort',
      });
      expect(run('copy \\Temp\\missing.exe \\Temp\\x.exe').outcome).to.deep.equal({
        kind: 'failed',
        reason: 'FileNotFound',
        detail: '\\Temp\\PKG1\\setup.dms line 1: \\Temp\\missing.exe does not exist',
      });
    });

    it('a copy to a full storage card fails the script, naming the volume', () => {
      const result = run('copy \\Temp\\PKG1\\maps.dat "\\Storage Card\\maps.dat"', [file('maps.dat', Buffer.alloc(2 * MB))]);
      expect(result.outcome).to.deep.equal({
        kind: 'failed',
        reason: 'VolumeFull',
        detail: '\\Temp\\PKG1\\setup.dms line 1: volume \\Storage Card full: needs 2.0 MB, 1.0 MB free',
      });
    });

    it('run waits for a program (its exit code fails the command), runasync does not; run past the budget times out', () => {
      const ok = run('run \\Temp\\PKG1\\tool.exe /x\nrunasync \\Windows\\tmail.exe', [file('tool.exe', 'x')]);
      expect(ok).to.deep.include({ outcome: { kind: 'exited', exitCode: 0 }, durationMs: 10_000 });
      const failing = run('run \\Temp\\PKG1\\tool.exe', [file('tool.exe', 'x')], {
        profile: { ...PROFILE, programBehaviour: { ...PROFILE.programBehaviour, exitCodes: [{ code: 1603, weight: 1 }] } },
      });
      expect(failing.outcome).to.deep.include({ reason: 'ExitCode', detail: '\\Temp\\PKG1\\setup.dms line 1: \\Temp\\PKG1\\tool.exe exited with 1603' });
      const looping = run(':again\nrun \\Temp\\PKG1\\tool.exe\ngoto again', [file('tool.exe', 'x')], { budgetMs: 60_000 });
      expect(looping).to.deep.include({ outcome: { kind: 'timedOut' }, durationMs: 60_000 });
    });

    it('reboot stops the script; it continues after the reboot from the next line, with its variables', () => {
      const first = run('set who after\nreboot\ncreatedir \\Temp\\%who%');
      expect(first.outcome.kind).to.equal('reboot');
      if (first.outcome.kind !== 'reboot') return;
      expect(look(first.state).files.stat('\\Temp\\after')).to.equal(undefined);
      const second = install('setup.dms', [file('setup.dms', 'set who after\nreboot\ncreatedir \\Temp\\%who%')], {
        state: first.state,
        resume: first.outcome.resume,
      });
      expect(second.outcome).to.deep.equal({ kind: 'exited', exitCode: 0 });
      expect(look(second.state).files.stat('\\Temp\\after')?.directory).to.equal(true);
      // A restart that outlasts the maximum run time: the script does not continue.
      const late = install('setup.dms', [file('setup.dms', 'reboot')], { state: first.state, resume: first.outcome.resume, budgetMs: 0 });
      expect(late.outcome).to.deep.equal({ kind: 'timedOut' });
    });

    it('scheduletask checks its reserved parameters and dates', () => {
      expect(run('scheduletask poll "" "2009-6-1 8:00:00" "0000-00-07 00:00:00" ""').outcome).to.deep.equal({ kind: 'exited', exitCode: 0 });
      expect(run('scheduletask report x "2009-6-1 8:00:00" "0000-00-07 00:00:00" "" \\Temp\\a.log').outcome).to.deep.include({ reason: 'ScriptError' });
    });

    it('refuses a script it cannot run before running any of it', () => {
      expect(() => parseScript('createdir \\a\nfrobnicate x', 's.dms')).to.throw(DeviceError, 's.dms line 2: unknown command "frobnicate"');
      expect(() => parseScript('if number 1 == 1\ncreatedir \\a', 's.dms')).to.throw(DeviceError, 'without endif');
      expect(() => parseScript('goto nowhere', 's.dms')).to.throw(DeviceError, 'no label :nowhere');
      const result = run('createdir \\Temp\\first\nfrobnicate');
      expect(result.outcome).to.deep.include({ reason: 'ScriptError' });
      expect(look(result.state).files.stat('\\Temp\\first')).to.equal(undefined);
    });
  });

  it('any other command line is a simulated program that must be on the device', () => {
    expect(install('setup.exe /q', [file('setup.exe', 'x')])).to.deep.include({ outcome: { kind: 'exited', exitCode: 0 }, durationMs: 10_000 });
    expect(install('setup.exe /q', [file('readme.txt', 'x')]).outcome).to.deep.include({ kind: 'failed', reason: 'FileNotFound' });
  });

  it('a LocalDestination that is no absolute path (from another server) fails the command, naming it', () => {
    expect(install('setup.exe', [file('setup.exe', 'x')], { localDestination: 'Temp\\PKG1' }).outcome).to.deep.equal({
      kind: 'failed',
      reason: 'PathInvalid',
      detail: '"Temp\\PKG1" is not an absolute path',
    });
  });

  it('a package that does not fit its LocalDestination fails as a full volume', () => {
    expect(install('setup.exe', [file('setup.exe', Buffer.alloc(9 * MB))]).outcome).to.deep.include({ kind: 'failed', reason: 'VolumeFull' });
  });
});
