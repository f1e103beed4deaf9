/**
 * What a handheld does with a downloaded package (reference §7.2, §7.3): saves its files under LocalDestination,
 * then runs its CommandLine, the "post-install command":
 *   - `wceload [/noaskdest|/askdest] [/delete N|/noui|/nouninstall] <cab>` installs a Microsoft Cabinet (./wceload.ts): each file
 *     to where the cabinet's `_setup.xml` puts it (or, without one, to `\Program Files\<cab name>`), its registry
 *     settings, and the app's `HKLM\Software\Apps` entry; the CAB is then deleted unless `/delete 0`;
 *   - a `.dms` file (alone, or after `dmscript.exe`) runs on the script engine (./dms-script.ts);
 *   - anything else is a simulated program: it must exist on the device, and its exit code and run time are drawn
 *     from the device's program behaviour.
 * Pure and synchronous: it returns the device's new state, how long the command took, and how it ended, from what
 * happened on the device. The caller lets the time pass.
 */
import type { DeviceProfile } from '../agent/device-profile.js';
import type { Random } from '../random.js';
import { DEVICE_FAILURE, DeviceError, type DeviceFailure } from './device-error.js';
import { openDevice, stateOf, type DeviceSession, type DeviceState } from './device-state.js';
import { parseScript, runScript, splitArguments, type ScriptHost, type ScriptPosition, type ScriptResult } from './dms-script.js';
import { ATTRIBUTE, fileFactsOf, keyOf, nameOf, normalizePath, textOf } from './file-system.js';
import { cabinetInstall } from './wceload.js';

/** A file of the downloaded package: its path inside the package and its bytes. */
export interface PackageFile {
  name: string;
  data: Buffer;
}

/** A script that rebooted the device, and where it continues. */
export interface ScriptResume {
  script: string;
  position: ScriptPosition;
}

export interface PostInstall {
  commandLine: string;
  localDestination: string;
  files: readonly PackageFile[];
  profile: Pick<DeviceProfile, 'platform' | 'freeStorageBytes' | 'storageCard' | 'programBehaviour'>;
  state: DeviceState;
  /** The stream simulated programs draw their exit codes and run times from. */
  random: Random;
  now: number;
  /** Time left before the program's maximum run time. */
  budgetMs: number;
  /** Continues a script after the reboot it asked for, instead of saving and running the package again. */
  resume: ScriptResume | null;
}

export type PostInstallOutcome =
  /** The command ran to its end; the caller judges its exit code (success codes, restart codes). */
  | { kind: 'exited'; exitCode: number }
  | { kind: 'failed'; reason: DeviceFailure; detail: string }
  /** A script rebooted the device: it continues after the restart. */
  | { kind: 'reboot'; resume: ScriptResume }
  | { kind: 'timedOut' };

export interface PostInstallResult {
  outcome: PostInstallOutcome;
  state: DeviceState;
  durationMs: number;
}

const isScriptFile = (path: string) => /\.dms$/i.test(path);
const programName = (token: string) => nameOf(token.replace(/\//g, '\\')).toLowerCase();

export function postInstall(run: PostInstall): PostInstallResult {
  const session = openDevice(run.profile, run.state, run.now);
  let device: Device;
  try {
    device = new Device(session, run);
  } catch (error) {
    // A LocalDestination that is no path on the device (from another server): the command cannot start.
    if (!(error instanceof DeviceError)) throw error;
    return { outcome: { kind: 'failed', reason: error.reason, detail: error.message }, state: run.state, durationMs: 0 };
  }
  const finish = resultOf(session, device, run.budgetMs);
  try {
    // The maximum run time ran out while the device restarted: the script does not continue.
    if (run.budgetMs <= 0) return finish({ kind: 'timedOut' });
    if (run.resume) return finish(device.scriptOutcome(device.runScript(run.resume.script, run.resume.position)));
    device.saveFiles();
    const tokens = splitArguments(run.commandLine);
    const script = scriptOf(tokens);
    if (script !== undefined) return finish(device.scriptOutcome(device.runScript(device.resolve(script), undefined)));
    const { exitCode } = device.run(run.commandLine);
    return finish(device.elapsedMs > run.budgetMs ? { kind: 'timedOut' } : { kind: 'exited', exitCode });
  } catch (error) {
    if (!(error instanceof DeviceError)) throw error;
    return finish(device.elapsedMs > run.budgetMs ? { kind: 'timedOut' } : { kind: 'failed', reason: error.reason, detail: error.message });
  }
}

/** How a run ends, with what it left on the device; made by a call, not as a named closure (tsx names each). */
function resultOf(session: DeviceSession, device: Device, budgetMs: number): (outcome: PostInstallOutcome) => PostInstallResult {
  return (outcome) => ({ outcome, state: stateOf(session), durationMs: Math.min(device.elapsedMs, budgetMs) });
}

/** The script a command line runs: `x.dms`, or `dmscript.exe x.dms`. */
function scriptOf(tokens: string[]): string | undefined {
  const [first = '', second] = tokens;
  if (isScriptFile(first)) return first;
  if ((programName(first) === 'dmscript.exe' || programName(first) === 'dmscript') && second !== undefined) return second;
  return undefined;
}

/** The device while the command runs: its state, the bytes it holds of this run's files, and the time spent. */
class Device {
  elapsedMs = 0;
  /** Bytes of the files this run put on the device (the package's, a CAB's, saved .reg files), by path key. */
  private readonly contents = new Map<string, Buffer>();
  private readonly destination: string;
  /** The package's files where they are saved. */
  private readonly packageFiles: readonly { path: string; data: Buffer }[];

  constructor(
    private readonly session: DeviceSession,
    private readonly install: PostInstall,
  ) {
    this.destination = normalizePath(install.localDestination);
    this.packageFiles = install.files.map((file) => ({ path: this.packagePath(file.name), data: file.data }));
    for (const file of this.packageFiles) this.contents.set(keyOf(file.path), file.data);
  }

  /** The package's files, saved under LocalDestination. */
  saveFiles(): void {
    for (const file of this.packageFiles) this.writeFile(file.path, file.data);
  }

  /** A path as a command line gives it: absolute, or relative to LocalDestination. */
  resolve(path: string): string {
    return path.startsWith('\\') || path.startsWith('/') ? normalizePath(path) : normalizePath(`${this.destination}\\${path}`);
  }

  /** Runs a command line to its end (wceload, a script, or a simulated program). */
  run(commandLine: string): { exitCode: number; durationMs: number } {
    const started = this.elapsedMs;
    const tokens = splitArguments(commandLine);
    const program = programName(tokens[0] ?? '');
    const script = scriptOf(tokens);
    if (program === 'wceload.exe' || program === 'wceload') this.installCabinet(tokens.slice(1));
    else if (script !== undefined) {
      const end = this.scriptOutcome(this.runScript(this.resolve(script), undefined));
      if (end.kind === 'failed') throw new DeviceError(end.reason, end.detail);
      if (end.kind === 'reboot') throw new DeviceError(DEVICE_FAILURE.scriptError, `${script}: only the package's own script can reboot the device`);
    } else return this.simulatedProgram(tokens[0] ?? '');
    return { exitCode: 0, durationMs: this.elapsedMs - started };
  }

  runScript(path: string, from: ScriptPosition | undefined): { path: string; result: ScriptResult } {
    const bytes = this.readFile(path);
    if (!bytes) throw new DeviceError(DEVICE_FAILURE.fileNotFound, `script ${path} does not exist`);
    const host: ScriptHost = {
      session: this.session,
      readFile: (p) => this.readFile(p),
      writeFile: (p, data) => {
        this.writeFile(p, data);
      },
      run: (commandLine) => this.run(commandLine),
      start: (commandLine) => {
        this.startProgram(commandLine);
      },
      startedAt: this.install.now,
    };
    const result = runScript(parseScript(textOf(bytes), path), host, this.install.budgetMs - this.elapsedMs, from);
    return { path, result };
  }

  /** How a script's end reads as the command's. */
  scriptOutcome({ path, result }: { path: string; result: ScriptResult }): PostInstallOutcome {
    const end = result.end;
    switch (end.kind) {
      case 'completed':
      case 'quit':
        return { kind: 'exited', exitCode: 0 };
      case 'aborted':
        return { kind: 'failed', reason: DEVICE_FAILURE.scriptAborted, detail: `${path} line ${end.line}: abort` };
      case 'failed':
        return { kind: 'failed', reason: end.error.reason, detail: end.error.message };
      case 'reboot':
        return { kind: 'reboot', resume: { script: path, position: end.resume } };
      case 'timedOut':
        return { kind: 'timedOut' };
    }
  }

  /** The bytes of a file on the device, if this run holds them; an existing file whose bytes it lacks reads empty. */
  readFile(path: string): Buffer | undefined {
    const normalized = normalizePath(path);
    if (!this.session.files.stat(normalized)) return undefined;
    return this.contents.get(keyOf(normalized)) ?? Buffer.alloc(0);
  }

  private writeFile(path: string, data: Buffer, attributes: number = ATTRIBUTE.ARCHIVE): void {
    this.session.files.writeFile(path, fileFactsOf(data), attributes);
    this.contents.set(keyOf(normalizePath(path)), data);
  }

  private packagePath(name: string): string {
    return `${this.destination === '\\' ? '' : this.destination}\\${name.replace(/\//g, '\\')}`;
  }

  /** A program that is not wceload or a script: it must be on the device; the profile says how it behaves. */
  private simulatedProgram(executable: string): { exitCode: number; durationMs: number } {
    const path = this.findProgram(executable);
    if (!path) throw new DeviceError(DEVICE_FAILURE.fileNotFound, `${executable} does not exist (looked in ${this.destination} and \\Windows)`);
    const { durationSeconds, exitCodes } = this.install.profile.programBehaviour;
    const random = this.install.random;
    const durationMs = Math.round((durationSeconds.min + random.next() * (durationSeconds.max - durationSeconds.min)) * 1000);
    const exitCode = random.weighted(exitCodes.map(({ code, weight }) => ({ value: code, weight })));
    this.elapsedMs += durationMs;
    return { exitCode, durationMs };
  }

  /** `runasync`: the program must exist; it runs on its own and changes nothing the script waits for. */
  private startProgram(commandLine: string): void {
    const executable = splitArguments(commandLine)[0] ?? '';
    if (!this.findProgram(executable)) throw new DeviceError(DEVICE_FAILURE.fileNotFound, `${executable} does not exist`);
  }

  private findProgram(executable: string): string | undefined {
    const candidates = executable.startsWith('\\') ? [executable] : [this.resolve(executable), `\\Windows\\${executable}`];
    return candidates.find((path) => this.session.files.stat(path)?.directory === false);
  }

  /** wceload: reads the switches, installs the cabinet, and deletes it unless `/delete 0`. */
  private installCabinet(args: string[]): void {
    let keep = false;
    let cab: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] ?? '';
      const option = arg.toLowerCase();
      if (option === '/delete') {
        const value = args[++i];
        if (value !== '0' && value !== '1' && value !== '2')
          throw new DeviceError(DEVICE_FAILURE.badCabinet, `wceload: /delete takes 0, 1 or 2, not ${value ?? 'nothing'}`);
        keep = value === '0';
      } else if (['/noaskdest', '/askdest', '/noui', '/nouninstall', '/silent'].includes(option)) continue;
      else if (arg.startsWith('/')) throw new DeviceError(DEVICE_FAILURE.badCabinet, `wceload: unknown switch ${arg}`);
      else cab = arg;
    }
    if (cab === undefined) throw new DeviceError(DEVICE_FAILURE.badCabinet, 'wceload: no CAB file named');
    const path = this.resolve(cab);
    const bytes = this.readFile(path);
    if (!bytes) throw new DeviceError(DEVICE_FAILURE.fileNotFound, `${path} does not exist`);
    const install = cabinetInstall(bytes, path);
    this.elapsedMs += install.durationMs;
    for (const step of install.steps) {
      switch (step.kind) {
        case 'makeDirectory':
          this.session.files.createDirectory(step.path);
          break;
        case 'writeFile':
          this.writeFile(step.path, step.data, step.attributes);
          break;
        case 'setValue':
          this.session.registry.setValue(step.key, step.value);
          break;
        case 'fail':
          throw new DeviceError(step.reason, step.detail);
      }
    }
    if (!keep) this.session.files.delete(path);
  }
}
