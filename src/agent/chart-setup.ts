/**
 * The device statechart's typed setup, shared by its two parts: the handling of one offer (./offer.ts) extends it
 * with its own actions and guards, and the device's lifecycle (./machine.ts) extends that and makes the machine.
 * Here is what both parts do: ask the site line for an exchange, record a status message, deliver the outbox, log.
 */
import { assign, setup } from 'xstate';
import { DEVICE_MESSAGE, PARAMETER, type DeviceMessageKey } from '../domain/device-status.js';
import { errorText } from '../logging.js';
import type { Random } from '../random.js';
import { configurationEvaluator } from './configuration-evaluator.js';
import type { HandheldContext, HandheldEvent, HandheldInput, OfferProgress } from './device-context.js';
import { DownloadError } from './downloader.js';
import { programRunner } from './program-runner.js';
import { SiteRequestError } from './site-connection.js';
import { siteLineOf, type SiteRequest } from './site-line.js';

export const now = (context: HandheldContext) => context.deps.site.clock.now();
/** The line a device's exchanges go through: its site port's. */
export const lineOf = (context: HandheldContext) => siteLineOf(context.deps.site);

/** Shared by every device that has nothing in progress: an idle device's memory costs no object of its own. */
export const NOTHING_IN_PROGRESS: Readonly<Record<string, OfferProgress>> = Object.freeze({});

/** A device's progress without one package's (the context is immutable). */
export function withoutProgress(progress: HandheldContext['progress'], packageId: string): HandheldContext['progress'] {
  if (!(packageId in progress)) return progress;
  const { [packageId]: _handled, ...rest } = progress;
  return Object.keys(rest).length === 0 ? NOTHING_IN_PROGRESS : rest;
}

/**
 * Capped exponential backoff from the site's Failure Retry Interval, with jitter so a fleet does not retry in
 * step, and never sooner than the site's Retry-After: a poll's retries and a download's.
 */
export function retryDelay(baseMs: number, attempt: number, random: Random, retryAfterMs: number | null): number {
  const capped = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), baseMs * 8);
  return Math.max(Math.round(capped * (0.5 + 0.5 * random.next())), retryAfterMs ?? 0);
}

/** The Retry-After an error carries, if the site sent one. */
export function retryAfterOf(error: unknown): number | null {
  return error instanceof SiteRequestError || error instanceof DownloadError ? error.retryAfterMs : null;
}

export const deviceSetup = setup({
  types: {
    context: {} as HandheldContext,
    input: {} as HandheldInput,
    events: {} as HandheldEvent,
  },
  actors: { runProgram: programRunner, evaluateConfiguration: configurationEvaluator },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    ask: ({ context, self }, request: SiteRequest) => {
      lineOf(context).ask(self, request);
    },
    /** Delivers the outbox (at the end of a round; while a program runs; before a restart). */
    askToDeliver: ({ context, self }) => {
      lineOf(context).ask(self, { type: 'deliverStatus', credentials: context.credentials, outbox: context.outbox });
    },
    /**
     * Records a status message of the current package in the outbox, and the step of the offer it marks, if it
     * marks one (one change, so one save).
     */
    record: assign(({ context }, params: { message: DeviceMessageKey; parameters?: Record<string, string>; progress?: OfferProgress }) => {
      const seq = context.seq + 1;
      const packageId = context.current;
      const parameters = params.parameters ?? {};
      const reason = parameters[PARAMETER.reason];
      const step = params.progress;
      return {
        seq,
        ...(step?.step === 'done' && {
          done: { ...context.done, [packageId]: true as const },
          progress: withoutProgress(context.progress, packageId),
        }),
        ...(step && step.step !== 'done' && { progress: { ...context.progress, [packageId]: step } }),
        ...(params.message === 'packageDeferred' && reason !== undefined && { deferrals: { ...context.deferrals, [packageId]: reason } }),
        outbox: [
          ...context.outbox,
          {
            packageId,
            messageId: DEVICE_MESSAGE[params.message],
            time: now(context),
            // Zero-padded, so a device's messages sort in the order it recorded them.
            parameters: { [PARAMETER.sequence]: `${context.boot}.${String(seq).padStart(8, '0')}`, ...parameters },
          },
        ],
      };
    }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per device event.
      if (!context.deps.logger.isLevelEnabled(params.level)) return;
      context.deps.logger.log(params.level, params.message, {
        ...(context.current !== '' && { packageId: context.current }),
        server: context.deps.site.server,
        ...(params.error !== undefined && { error: errorText(params.error) }),
      });
    },
  },
});
