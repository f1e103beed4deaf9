import { fromPromise } from 'xstate';
import { postInstall, type PostInstall, type PostInstallResult } from '../device/post-install.js';
import type { Clock } from '../time/clock.js';

/**
 * Runs a package's post-install command on the device (src/device/post-install.ts) and lets the time it took pass
 * on the device's clock before its result counts. Aborted (the device stopped), it never resolves.
 */
function runPostInstall(install: PostInstall, clock: Clock, signal: AbortSignal): Promise<PostInstallResult> {
  const result = postInstall(install);
  // A command that failed at once (a missing file) answers at once, as a program that cannot start does.
  if (result.durationMs === 0) return Promise.resolve(result);
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      resolve(result);
    }, result.durationMs);
    signal.addEventListener(
      'abort',
      () => {
        clock.clearTimeout(timer);
      },
      { once: true },
    );
  });
}

/** The statechart's actor for it: the command to run, and the clock its run time passes on. */
export const programRunner = fromPromise<PostInstallResult, { install: PostInstall; clock: Clock }>(({ input, signal }) =>
  runPostInstall(input.install, input.clock, signal),
);
