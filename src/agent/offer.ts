/**
 * One package a handheld was offered, from its instructions to the end: judge them (src/domain/eligibility.ts),
 * locate and download the content (size- and hash-checked, resumed after a cut), then run its command line on the
 * device's file system and registry (src/device/post-install.ts) or, for a configuration package, apply its
 * provisioning documents. A child of the device statechart: its context always holds the package's instructions.
 * It tells the device each status message to record and when to deliver them, and ends with what changed on the
 * device.
 *
 *   judging ─► locatingContent ─► downloading ─► running.executing ─► done
 *      │                              │   │          │   ▲    └─► running.restarting ─► done
 *      │                 downloadBackoff   │          │   └─ a script's reboot: it continues ┘
 *      │                                   │          └─ failed from what happened / max run time ─► done
 *      │                                   └─ configuration package ─► applyingConfiguration ─► done
 *      └─ refused / declined / does not fit ─► done;  not yet started / connection ─► deferred
 *   downloading, retries used up: one-shot ─► done (11032, failed for good); recurring ─► deferred (11032, next occurrence)
 *
 * Each step with an effect is recorded with its status message (OfferProgress, kept in the device's memory): a
 * simulator restarted mid-offer resumes from judging straight to running.restarting, to done (a program or script
 * cut off mid-run is reported interrupted, never run again), or to applyingConfiguration with its documents.
 */
import { assign, fromPromise, sendParent, sendTo, setup } from 'xstate';
import { freeBytesAt, type DeviceState } from '../device/device-state.js';
import type { PostInstallOutcome, PostInstallResult, ScriptResume } from '../device/post-install.js';
import { PARAMETER, REASON, type DeviceMessageKey } from '../domain/device-status.js';
import { connectionClassesOf, judgeOffer, type Verdict } from '../domain/eligibility.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { RESTART_EXIT_CODES } from '../domain/program.js';
import { errorText } from '../logging.js';
import type { Instructions, InstructionsExtension } from '../protocol/documents/instructions.js';
import type { PackageLocation } from '../protocol/documents/package-location.js';
import { hashUniform, seededRandom, type Random } from '../random.js';
import { deliveredItems, evaluateConfiguration, type ConfigurationEvaluation } from './configuration-evaluator.js';
import { ipAddressOfUuid } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';
import type { HandheldDependencies } from './machine.js';
import { DownloadError, type DownloadedContent } from './downloader.js';
import { runPostInstall } from './program-runner.js';
import { isUnauthorized, SiteRequestError, type Credentials } from './site-connection.js';
import { siteLineOf, type SiteAnswer, type SiteRequest } from './site-line.js';

/** The documented default when a server names no maximum run time. */
const DEFAULT_MAX_RUN_TIME_MINUTES = 120;

export interface OfferInput {
  packageId: string;
  instructions: Instructions;
  profile: DeviceProfile;
  /** The device's site, random stream and logger. */
  deps: HandheldDependencies;
  credentials: Credentials;
  /** The device's file system and registry when the offer starts. */
  state: DeviceState;
  /** The site's failure-recovery settings (FailureRetryCount, FailureRetryInterval). */
  retry: { count: number; intervalMs: number };
  /** How far the device got with this package before the simulator last stopped, if it had started it. */
  resumeFrom?: OfferProgress | undefined;
}

/**
 * A step of an offer that has an effect, kept in the device's memory (DeviceMemory) with the status message that
 * marks it, so that a restarted simulator resumes where the device was and never runs a program twice: a
 * configuration package's documents downloaded; the command started; a restart pending (with what the command
 * changed on the device, and whether a script was to continue after it); `done` when the package is handled for good.
 * Package bytes are not kept: a script cut off by a simulator restart is reported interrupted, not continued.
 */
export type OfferProgress =
  | { step: 'downloaded'; documents: Record<string, string> }
  | { step: 'started' }
  | { step: 'restartPending'; state: DeviceState; scriptToContinue: boolean }
  | { step: 'done' };

/** What handling the offer changed on the device. */
export interface OfferOutcome {
  /** Handled to the end (run, refused, failed): not handled again. False: deferred to the next poll. */
  done: boolean;
  /** The site refused the device's credentials (401): it must poll again to be known, then carry on. */
  identityLost: boolean;
  /** The device's file system and registry after the package ran, when it ran (succeeded or not). */
  state: DeviceState | null;
  /** The device's settings after a configuration package, when it applied one. */
  settings: Record<string, string> | null;
}

/** What the offer asks of the device while it runs. */
export type OfferEvent =
  | { type: 'offer.record'; packageId: string; message: DeviceMessageKey; parameters: Record<string, string>; progress?: OfferProgress }
  | { type: 'offer.deliver' };

/**
 * Kept to at most 19 top-level fields (17 now), as the device's context is (see HandheldContext): past that, V8 makes
 * the copy each assign makes a hash table, and every assign and read of it cost several times as much.
 */
interface OfferContext extends OfferInput {
  verdict: Verdict;
  /** The lowest-metric HTTP source, once located. */
  sourceUrl: string;
  /** Bytes of an interrupted download, resumed from at the next attempt. */
  partial: Buffer | null;
  content: DownloadedContent;
  /** Failed attempts of the download being retried, and the wait the site asked for after the last (Retry-After). */
  retries: { attempts: number; retryAfterMs: number | null };
  /** Free bytes where the package is saved (its LocalDestination's volume), when the offer started. */
  freeBytes: number;
  /** When the program's maximum run time is up, restarts included; set when it starts. */
  deadline: number;
  /** A script that rebooted the device, to continue after the restart. */
  resume: ScriptResume | null;
  outcome: OfferOutcome;
}

const NO_RETRIES = Object.freeze({ attempts: 0, retryAfterMs: null });
const NO_CONTENT: DownloadedContent = Object.freeze({ bytes: 0, files: [], documents: {} });
const HANDLED: OfferProgress = Object.freeze({ step: 'done' });
const STARTED: OfferProgress = Object.freeze({ step: 'started' });

/**
 * Capped exponential backoff from the site's Failure Retry Interval, with jitter so a fleet does not retry in
 * step, and never sooner than the site's Retry-After.
 */
export function retryDelay(baseMs: number, attempt: number, random: Random, retryAfterMs: number | null): number {
  const capped = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), baseMs * 8);
  return Math.max(Math.round(capped * (0.5 + 0.5 * random.next())), retryAfterMs ?? 0);
}

/** The Retry-After an error carries, if the site sent one. */
export function retryAfterOf(error: unknown): number | null {
  return error instanceof SiteRequestError || error instanceof DownloadError ? error.retryAfterMs : null;
}

/**
 * What a program does on this device (its exit code and run time) is drawn from a stream of its own, seeded by the
 * device and the package: not from the stream retries and poll jitter draw from, so an outage that makes a device
 * retry more does not change what its programs do, and a replay with site restarts reports the same outcomes.
 */
const outcomesOf = (context: OfferContext): Random => seededRandom(Math.floor(hashUniform('program outcome', context.profile.id, context.packageId) * 2 ** 32));

const extensionOf = (context: OfferContext): InstructionsExtension | null => context.instructions.extension;
const isConfiguration = (context: OfferContext) => extensionOf(context)?.content.packageType === PACKAGE_TYPE.configuration;
const maxRunTimeMinutes = (context: OfferContext) => extensionOf(context)?.program?.maxRunTimeMinutes ?? DEFAULT_MAX_RUN_TIME_MINUTES;

function failure(reason: string, error: unknown): Record<string, string> {
  return { [PARAMETER.reason]: reason, [PARAMETER.detail]: error instanceof Error ? error.message : String(error) };
}

function programResult(result: PostInstallResult, reason?: string): Record<string, string> {
  return {
    ...(reason !== undefined && { [PARAMETER.reason]: reason }),
    ...(result.outcome.kind === 'exited' && { [PARAMETER.exitCode]: String(result.outcome.exitCode) }),
    [PARAMETER.durationSeconds]: String(Math.round(result.durationMs / 1000)),
  };
}

/** Why the command failed, from what happened on the device (a missing file, a full volume, an abort...). */
function deviceFailure(result: PostInstallResult): Record<string, string> {
  const outcome = result.outcome;
  return outcome.kind === 'failed'
    ? { [PARAMETER.reason]: outcome.reason, [PARAMETER.detail]: outcome.detail, [PARAMETER.durationSeconds]: String(Math.round(result.durationMs / 1000)) }
    : {};
}

const exitCodeOf = (outcome: PostInstallOutcome) => (outcome.kind === 'exited' ? outcome.exitCode : null);

const scriptRebootDetail = (outcome: PostInstallOutcome) =>
  outcome.kind === 'reboot' ? `${outcome.resume.script} reboots the device and continues after it` : '';

export const offerMachine = setup({
  types: {
    context: {} as OfferContext,
    input: {} as OfferInput,
    events: {} as SiteAnswer,
    output: {} as OfferOutcome,
  },
  actors: {
    runPostInstall: fromPromise<PostInstallResult, OfferContext>(({ input, signal }) =>
      runPostInstall(
        {
          commandLine: input.instructions.commandLine,
          localDestination: input.instructions.localDestination,
          files: input.content.files,
          profile: input.profile,
          state: input.state,
          random: outcomesOf(input),
          now: input.deps.site.clock.now(),
          budgetMs: Math.max(0, input.deadline - input.deps.site.clock.now()),
          resume: input.resume,
        },
        input.deps.site.clock,
        signal,
      ),
    ),
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a missing or bad document (thrown) rejects: the offer's onError
    evaluateConfiguration: fromPromise<ConfigurationEvaluation, OfferContext>(async ({ input }) =>
      evaluateConfiguration(
        deliveredItems(extensionOf(input)?.configurationItems ?? [], input.content.documents),
        input.profile.platform,
        input.profile.settings,
      ),
    ),
  },
  delays: {
    retryDelay: ({ context }) => retryDelay(context.retry.intervalMs, context.retries.attempts, context.deps.random, context.retries.retryAfterMs),
    restart: ({ context }) => context.profile.programBehaviour.restartSeconds * 1000,
  },
  guards: {
    verdictIs: ({ context }, params: { kind: Verdict['kind'] }) => context.verdict.kind === params.kind,
    /** The simulator stopped at this step of the offer (see OfferProgress); `scriptToContinue` for a restart pending. */
    resumesFrom: ({ context }, params: { step: OfferProgress['step']; scriptToContinue?: boolean }) => {
      const from = context.resumeFrom;
      if (from?.step !== params.step) return false;
      return from.step !== 'restartPending' || params.scriptToContinue === undefined || from.scriptToContinue === params.scriptToContinue;
    },
    unauthorized: (_, params: { error: unknown }) => isUnauthorized(params.error),
    isConfigurationPackage: ({ context }) => isConfiguration(context),
    canRetry: ({ context }) => context.retries.attempts < context.retry.count,
    isRecurring: ({ context }) => context.instructions.recurrence !== null,
    contentMismatch: (_, params: { error: unknown }) =>
      params.error instanceof DownloadError && (params.error.failure === 'hash' || params.error.failure === 'size'),
    hasHttpSource: (_, params: { location: PackageLocation }) => params.location.locations.some((l) => l.httpUrl !== null),
    outcomeIs: (_, params: { result: PostInstallResult; kind: PostInstallOutcome['kind'] }) => params.result.outcome.kind === params.kind,
    restartRequested: (_, params: { result: PostInstallResult }) =>
      (RESTART_EXIT_CODES as readonly (number | null)[]).includes(exitCodeOf(params.result.outcome)),
    exitCodeIsSuccess: ({ context }, params: { result: PostInstallResult }) =>
      (extensionOf(context)?.program?.successExitCodes ?? [0]).some((code) => code === exitCodeOf(params.result.outcome)),
    hasScriptToResume: ({ context }) => context.resume !== null,
  },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    ask: sendTo(
      ({ context }) => siteLineOf(context.deps.site),
      // Spread last: an object spread followed by literal fields is V8's slow path (see the context below).
      ({ self }, request: SiteRequest) => ({ replyTo: self, ...request }),
    ),
    /** Records a status message, and with it (one event, so one save) the step it marks, if it marks one. */
    record: sendParent(({ context }, params: { message: DeviceMessageKey; parameters?: Record<string, string>; progress?: OfferProgress }): OfferEvent => ({
      type: 'offer.record',
      packageId: context.packageId,
      message: params.message,
      parameters: params.parameters ?? {},
      ...(params.progress && { progress: params.progress }),
    })),
    /** The device delivers what it recorded (while a program runs, before a restart). */
    deliver: sendParent((): OfferEvent => ({ type: 'offer.deliver' })),
    countFailure: assign({
      retries: ({ context }, params: { error: unknown }) => ({ attempts: context.retries.attempts + 1, retryAfterMs: retryAfterOf(params.error) }),
    }),
    /** Keeps what an interrupted download received; a content mismatch starts over. */
    keepPartial: assign({ partial: (_, params: { error: unknown }) => (params.error instanceof DownloadError ? params.error.partial : null) }),
    /** The HTTP source with the lowest metric (SMB paths are for desktop clients). */
    storeSource: assign({
      sourceUrl: (_, params: { location: PackageLocation }) =>
        params.location.locations.reduce<{ url: string; metric: number } | null>(
          (best, l) => (l.httpUrl !== null && (best === null || l.metric < best.metric) ? { url: l.httpUrl, metric: l.metric } : best),
          null,
        )?.url ?? '',
    }),
    storeContent: assign({ content: (_, params: { content: DownloadedContent }) => params.content, retries: NO_RETRIES }),
    markDone: assign({ outcome: ({ context }) => ({ ...context.outcome, done: true }) }),
    markIdentityLost: assign({ outcome: ({ context }) => ({ ...context.outcome, identityLost: true }) }),
    startRunClock: assign({ deadline: ({ context }) => context.deps.site.clock.now() + maxRunTimeMinutes(context) * 60_000 }),
    /** What the command changed on the device (kept whether it succeeded or not), and a script to continue. */
    keepState: assign(({ context }, params: { result: PostInstallResult }) => ({
      state: params.result.state,
      resume: params.result.outcome.kind === 'reboot' ? params.result.outcome.resume : null,
      outcome: { ...context.outcome, state: params.result.state },
    })),
    applySettings: assign({
      outcome: ({ context }, params: { evaluation: ConfigurationEvaluation }) => ({ ...context.outcome, settings: params.evaluation.settings }),
    }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per event.
      if (!context.deps.logger.isLevelEnabled(params.level)) return;
      context.deps.logger.log(params.level, params.message, {
        packageId: context.packageId,
        server: context.deps.site.server,
        ...(params.error !== undefined && { error: errorText(params.error) }),
      });
    },
  },
}).createMachine({
  id: 'offer',
  context: ({ input }) => {
    // Opening the device's file system to measure it costs: once per offer.
    const freeBytes = freeBytesAt(input.profile, input.state, input.instructions.localDestination);
    // The input's fields come last: on Node 20 an object spread followed by literal fields takes V8's slow path,
    // microseconds per field, and this context is made at every poll that offers a package (OfferContext's own
    // fields are not in OfferInput, so the order changes nothing else).
    return {
      verdict: judgeOffer(
        {
          required: input.instructions.required,
          startTime: input.instructions.startTime,
          expiresAt: input.instructions.extension?.advertisement.expiresAt ?? null,
          flags: input.instructions.flags,
          packageSize: input.instructions.packageSize,
          isConfiguration: input.instructions.extension?.content.packageType === PACKAGE_TYPE.configuration,
          program: input.instructions.extension?.program ?? null,
        },
        {
          platform: input.profile.platform,
          connectionClasses: connectionClassesOf(input.profile.connectivity),
          freeStorageBytes: freeBytes,
          runsOptionalPrograms: input.profile.runsOptionalPrograms,
        },
        input.deps.site.clock.now(),
      ),
      sourceUrl: '',
      partial: null,
      content: input.resumeFrom?.step === 'downloaded' ? { ...NO_CONTENT, documents: input.resumeFrom.documents } : NO_CONTENT,
      retries: NO_RETRIES,
      freeBytes,
      deadline: 0,
      resume: null,
      // What a command cut off by a simulator restart had already changed on the device is the device's still.
      outcome: { done: false, identityLost: false, state: input.resumeFrom?.step === 'restartPending' ? input.resumeFrom.state : null, settings: null },
      ...input,
    };
  },
  output: ({ context }) => context.outcome,
  initial: 'judging',
  states: {
    judging: {
      always: [
        // A package the device had started before the simulator stopped carries on from there, whatever the verdict.
        { guard: { type: 'resumesFrom', params: { step: 'restartPending', scriptToContinue: false } }, target: 'running.restarting' },
        {
          // Cut off mid-run (or a script mid-reboot): it is not run again; the device says it was interrupted.
          guard: ({ context }) => context.resumeFrom?.step === 'started' || context.resumeFrom?.step === 'restartPending',
          target: 'done',
          actions: [
            { type: 'record', params: { message: 'executionFailed', parameters: { [PARAMETER.reason]: REASON.interrupted }, progress: HANDLED } },
            'markDone',
          ],
        },
        { guard: { type: 'resumesFrom', params: { step: 'downloaded' } }, target: 'applyingConfiguration' },
        {
          guard: { type: 'verdictIs', params: { kind: 'refuse' } },
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ context }) => ({
                message: 'packageRefused',
                parameters: { [PARAMETER.reason]: context.verdict.kind === 'refuse' ? context.verdict.reason : '' },
              }),
            },
            'markDone',
          ],
        },
        {
          // The device says once that it is waiting, and why (the device statechart drops a repeat).
          guard: { type: 'verdictIs', params: { kind: 'defer' } },
          target: 'deferred',
          actions: {
            type: 'record',
            params: ({ context }) => ({
              message: 'packageDeferred',
              parameters: {
                [PARAMETER.reason]: context.verdict.kind === 'defer' && context.verdict.why === 'connection' ? REASON.connectionClass : REASON.notYetStarted,
              },
            }),
          },
        },
        { guard: { type: 'verdictIs', params: { kind: 'decline' } }, target: 'done', actions: 'markDone' },
        {
          guard: { type: 'verdictIs', params: { kind: 'insufficientStorage' } },
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ context }) => ({
                message: 'downloadFailed',
                parameters: {
                  [PARAMETER.reason]: REASON.insufficientStorage,
                  [PARAMETER.packageSize]: String(context.instructions.packageSize),
                  [PARAMETER.freeStorage]: String(context.freeBytes),
                },
              }),
            },
            'markDone',
          ],
        },
        { target: 'locatingContent' },
      ],
    },
    locatingContent: {
      entry: {
        type: 'ask',
        params: ({ context }) => ({
          type: 'locateContent',
          credentials: context.credentials,
          location: {
            packageId: context.packageId,
            clientLocation: { directoryService: 'MLCSIM', ipAddresses: [{ address: ipAddressOfUuid(context.credentials.uuid), subnet: '255.255.0.0' }] },
          },
        }),
      },
      on: {
        'locateContent.done': [
          {
            guard: { type: 'hasHttpSource', params: ({ event }) => ({ location: event.output }) },
            target: 'downloading',
            actions: [
              { type: 'storeSource', params: ({ event }) => ({ location: event.output }) },
              { type: 'record', params: { message: 'downloadStarting' } },
            ],
          },
          {
            target: 'done',
            actions: [{ type: 'record', params: { message: 'downloadFailed', parameters: { [PARAMETER.reason]: REASON.noHttpSource } } }, 'markDone'],
          },
        ],
        'locateContent.failed': [
          { guard: { type: 'unauthorized', params: ({ event }) => ({ error: event.error }) }, target: 'deferred', actions: 'markIdentityLost' },
          {
            target: 'deferred',
            actions: {
              type: 'log',
              params: ({ event }) => ({ level: 'warn', message: 'content location unavailable, deferring to the next poll', error: event.error }),
            },
          },
        ],
      },
    },
    downloading: {
      entry: {
        type: 'ask',
        params: ({ context }) => ({
          type: 'download',
          download: {
            url: context.sourceUrl,
            expectedSize: context.instructions.packageSize,
            expectedSha256: extensionOf(context)?.content.sha256 ?? null,
            partial: context.partial,
          },
        }),
      },
      on: {
        'download.done': [
          {
            guard: 'isConfigurationPackage',
            target: 'applyingConfiguration',
            actions: [
              { type: 'storeContent', params: ({ event }) => ({ content: event.output }) },
              {
                type: 'record',
                params: ({ event }) => ({ message: 'downloadSucceeded', progress: { step: 'downloaded', documents: event.output.documents } }),
              },
            ],
          },
          {
            // The post-install command starts as the download succeeds (the site records both from this message).
            target: 'running',
            actions: [
              { type: 'storeContent', params: ({ event }) => ({ content: event.output }) },
              { type: 'record', params: { message: 'downloadSucceeded', progress: STARTED } },
            ],
          },
        ],
        'download.failed': [
          {
            guard: 'canRetry',
            target: 'downloadBackoff',
            actions: [
              { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'keepPartial', params: ({ event }) => ({ error: event.error }) },
              { type: 'log', params: ({ event }) => ({ level: 'info', message: 'download failed, will retry', error: event.error }) },
            ],
          },
          {
            // The content never matched the source: the command line never runs on it.
            guard: { type: 'contentMismatch', params: ({ event }) => ({ error: event.error }) },
            target: 'done',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.contentMismatch, event.error) }) },
              'markDone',
            ],
          },
          {
            // A recurring download event (Instructions with Recurrence) whose retries ran out is not deleted: it
            // tries again at its next occurrence, which the device reaches at its next poll (reference §11).
            guard: 'isRecurring',
            target: 'deferred',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) },
              {
                type: 'log',
                params: ({ event }) => ({ level: 'info', message: 'download failed, recurring: tried again at its next occurrence', error: event.error }),
              },
            ],
          },
          {
            // A one-shot download event fails for good when its retries are used up (reference §11): the package is
            // handled. The site may list it again under a new id if the advertisement reruns after a failure.
            target: 'done',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) },
              'markDone',
            ],
          },
        ],
      },
    },
    downloadBackoff: { after: { retryDelay: 'downloading' } },
    running: {
      // The outbox goes out while the command runs, so the site sees "running" for long installs. The maximum run
      // time runs from here, restarts included.
      entry: ['deliver', 'startRunClock'],
      initial: 'executing',
      states: {
        executing: {
          invoke: {
            src: 'runPostInstall',
            input: ({ context }) => context,
            onDone: [
              {
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'timedOut' }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ context }) => ({
                      message: 'executionFailed',
                      parameters: { [PARAMETER.reason]: REASON.maxRunTime, [PARAMETER.maxRunTimeMinutes]: String(maxRunTimeMinutes(context)) },
                      progress: HANDLED,
                    }),
                  },
                  'markDone',
                ],
              },
              {
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'failed' }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  { type: 'record', params: ({ event }) => ({ message: 'executionFailed', parameters: deviceFailure(event.output), progress: HANDLED }) },
                  'markDone',
                ],
              },
              {
                // A script's `reboot`: the device restarts, then the script continues on its next line.
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'reboot' }) },
                target: 'restarting',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({
                      message: 'restartPending',
                      parameters: { [PARAMETER.reason]: REASON.scriptReboot, [PARAMETER.detail]: scriptRebootDetail(event.output.outcome) },
                      progress: { step: 'restartPending', state: event.output.state, scriptToContinue: true },
                    }),
                  },
                ],
              },
              {
                guard: { type: 'restartRequested', params: ({ event }) => ({ result: event.output }) },
                target: 'restarting',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({
                      message: 'restartPending',
                      parameters: programResult(event.output),
                      progress: { step: 'restartPending', state: event.output.state, scriptToContinue: false },
                    }),
                  },
                ],
              },
              {
                guard: { type: 'exitCodeIsSuccess', params: ({ event }) => ({ result: event.output }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  { type: 'record', params: ({ event }) => ({ message: 'executionSucceeded', parameters: programResult(event.output), progress: HANDLED }) },
                  'markDone',
                ],
              },
              {
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({ message: 'executionFailed', parameters: programResult(event.output, REASON.exitCode), progress: HANDLED }),
                  },
                  'markDone',
                ],
              },
            ],
            // Content the device could not make sense of in a way no check above names: the command fails, the device goes on.
            onError: {
              target: '#offer.done',
              actions: [
                {
                  type: 'record',
                  params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error), progress: HANDLED }),
                },
                'markDone',
              ],
            },
          },
        },
        restarting: {
          // The client reports "restart pending" before it goes down.
          entry: 'deliver',
          after: {
            restart: [
              { guard: 'hasScriptToResume', target: 'executing' },
              { target: '#offer.done', actions: [{ type: 'record', params: { message: 'executionSucceeded', progress: HANDLED } }, 'markDone'] },
            ],
          },
        },
      },
    },
    applyingConfiguration: {
      invoke: {
        src: 'evaluateConfiguration',
        input: ({ context }) => context,
        onDone: {
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ event }) => ({
                message: 'executionSucceeded',
                parameters: Object.fromEntries(event.output.results.map((r) => [`${PARAMETER.configurationItemPrefix}${r.itemId}`, r.state])),
                progress: HANDLED,
              }),
            },
            { type: 'applySettings', params: ({ event }) => ({ evaluation: event.output }) },
            'markDone',
          ],
        },
        onError: {
          target: 'done',
          actions: [
            { type: 'record', params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error), progress: HANDLED }) },
            'markDone',
          ],
        },
      },
    },
    /** Not handled this round (not yet started, connection, site trouble): handled again at the next poll. */
    deferred: { type: 'final' },
    done: { type: 'final' },
  },
});
