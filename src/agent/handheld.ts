import { createActor, type Actor } from 'xstate';
import { handheldMachine, type HandheldInput } from './machine.js';

export type Handheld = Actor<typeof handheldMachine>;

/** Starts one simulated handheld; its delays (retries, run times, restarts) run on the site port's clock. */
export function startHandheld(input: HandheldInput): Handheld {
  const actor = createActor(handheldMachine, { input, clock: input.deps.site.clock });
  actor.subscribe({ error: (error) => input.deps.logger.error('device statechart stopped on an error', { error: String(error) }) });
  actor.start();
  return actor;
}
