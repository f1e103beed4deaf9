import { baseName, packageFileOf } from '../domain/program.js';
import type { Random } from '../random.js';
import type { Clock } from '../time/clock.js';
import type { ProgramBehaviour } from './device-profile.js';

/** Windows' ERROR_FILE_NOT_FOUND: what a command line naming a file the package lacks exits with. */
export const EXIT_FILE_NOT_FOUND = 2;

export interface ProgramRun {
  commandLine: string;
  /** Files of the downloaded package. */
  files: string[];
  behaviour: ProgramBehaviour;
  random: Random;
  clock: Clock;
  /** Aborted when the run is cut short (max run time exceeded, device stopped). */
  signal: AbortSignal;
}

export interface ProgramResult {
  exitCode: number;
  durationMs: number;
}

/**
 * Runs a program the simulated way: the exit code and duration come from the device's program behaviour, and the
 * time passes on the device's clock. A command line needing a file the package lacks fails at once.
 */
export function runProgram(run: ProgramRun): Promise<ProgramResult> {
  const needed = packageFileOf(run.commandLine).toLowerCase();
  if (!run.files.some((file) => baseName(file).toLowerCase() === needed)) {
    return Promise.resolve({ exitCode: EXIT_FILE_NOT_FOUND, durationMs: 0 });
  }
  const { durationSeconds, exitCodes } = run.behaviour;
  const durationMs = Math.round((durationSeconds.min + run.random.next() * (durationSeconds.max - durationSeconds.min)) * 1000);
  const exitCode = run.random.weighted(exitCodes.map(({ code, weight }) => ({ value: code, weight })));
  return new Promise((resolve) => {
    const timer = run.clock.setTimeout(() => {
      resolve({ exitCode, durationMs });
    }, durationMs);
    run.signal.addEventListener(
      'abort',
      () => {
        run.clock.clearTimeout(timer);
      },
      { once: true },
    );
  });
}
