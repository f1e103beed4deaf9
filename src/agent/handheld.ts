import { createActor, type Actor } from 'xstate';
import { handheldMachine, type HandheldContext, type HandheldInput } from './machine.js';

export type Handheld = Actor<typeof handheldMachine>;

/** Starts one simulated handheld; its delays (retries, run times, restarts) run on the site port's clock. */
export function startHandheld(input: HandheldInput): Handheld {
  return started(createActor(handheldMachine, { input, clock: input.deps.site.clock }), input.deps);
}

/**
 * Starts a handheld again in idle with the context it had there: no entry action runs, so nothing is drawn or
 * scheduled again, and it waits for `poll.due` (see simulator/dormant-device.ts).
 */
export function resumeHandheld(context: HandheldContext): Handheld {
  const snapshot = handheldMachine.resolveState({ value: 'idle', context });
  // The input is not read when there is a snapshot to start from; the types ask for one all the same.
  return started(createActor(handheldMachine, { snapshot, input: context, clock: context.deps.site.clock }), context.deps);
}

function started(actor: Handheld, deps: HandheldContext['deps']): Handheld {
  actor.subscribe({ error: (error) => deps.logger.error('device statechart stopped on an error', { error: String(error) }) });
  actor.start();
  return actor;
}
