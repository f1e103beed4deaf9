import { createActor, type Actor } from 'xstate';
import type { HandheldDependencies, HandheldInput } from './device-context.js';
import { handheldMachine } from './machine.js';

export type Handheld = Actor<typeof handheldMachine>;

/**
 * Starts one simulated handheld; its delays (retries, run times, restarts) run on the site port's clock. `watch`
 * subscribes to it before it starts, so it sees what the device does on starting (one started to poll at once
 * asks for its poll then: see HandheldInput.pollsAtOnce).
 */
export function startHandheld(input: HandheldInput, watch?: (handheld: Handheld) => void): Handheld {
  const actor = createActor(handheldMachine, { input, clock: input.deps.site.clock });
  actor.subscribe({ error: logFailure(input.deps) });
  watch?.(actor);
  actor.start();
  return actor;
}

/**
 * What a device's statechart does when it stops on an error: made by a call, not as a named closure (see
 * site-line.ts). The logger is read only then: a fleet's device makes its child logger on first use.
 */
function logFailure(deps: HandheldDependencies): (error: unknown) => void {
  return (error) => {
    deps.logger.error('device statechart stopped on an error', { error: String(error) });
  };
}
