/**
 * The Mobile Device Legacy Client's lifecycle, as one statechart.
 *
 *   starting ─► idle ─poll due─► polling ─► evaluating ─► fetchingInstructions ─► offer ─► evaluating ─► … ─► reporting ─► inventorying ─► idle
 *      │                           ├─ nothing to do, nothing to send ─► idle
 *      │                       pollBackoff (retries, then gives up until the next interval)
 *      └─ started because its poll is due (woken from sleep) ─► polling
 *
 * Each poll names the device (DevicePoll) and gets back the packages that apply to it; each package it has not
 * handled yet is an `offer` (the state written in ./offer.ts) once its instructions are in. Every outcome is a
 * status message in the outbox, delivered at the end of the round and whenever an offer asks; the reports the poll
 * response enabled follow. The machine is data: HTTP, timers and randomness live in the actors and in the site port
 * given as input. Exchanges go through the port's site line (./site-line.ts): a state asks on entry and handles
 * the `<exchange>.done` or `<exchange>.failed` answer.
 */
import { assign } from 'xstate';
import { DEFAULT_DEVICE_SETTINGS, type DeviceSettings } from '../domain/client-settings.js';
import { PRISTINE } from '../device/device-state.js';
import type { PollResponse } from '../protocol/documents/poll-response.js';
import type { ReportType } from '../protocol/wire.js';
import { lineOf, NOTHING_IN_PROGRESS, now, retryAfterOf, retryDelay, withoutProgress } from './chart-setup.js';
import type { HandheldContext, HandheldInput, PollRetries, PollTimes } from './device-context.js';
import { identificationOf } from './device-identity.js';
import { offerSetup, offerState } from './offer.js';
import { dueReports, reportsAreDue } from './reports.js';
import { isUnauthorized, type Credentials, type PollAnswer } from './site-connection.js';
import { EMPTY_OUTBOX, withoutDelivered, type Delivery } from './status-outbox.js';

const NO_RETRIES: PollRetries = Object.freeze({ attempts: 0, retryAfterMs: null, reidentified: false });

export const handheldMachine = offerSetup
  .extend({
    delays: {
      untilNextPoll: ({ context }) => Math.max(0, context.polls.dueAt - now(context)),
      pollRetryDelay: ({ context }) =>
        retryDelay(context.settings.client.failureRetryIntervalMs, context.retries.attempts, context.deps.random, context.retries.retryAfterMs),
    },
    guards: {
      /** Started because its poll is due (pollsAtOnce): its due time is set from the start, not drawn in idle. */
      startedToPoll: ({ context }) => !Number.isNaN(context.polls.dueAt),
      canRetryPoll: ({ context }) => context.retries.attempts < context.settings.client.failureRetryCount,
      /** The site refused the device's credentials, and it has not polled again for that this cycle. */
      identityLost: ({ context }, params: { error: unknown }) => !context.retries.reidentified && isUnauthorized(params.error),
      offerLostIdentity: ({ context }) => !context.retries.reidentified && context.offer?.identityLost === true,
      hasOfferToHandle: ({ context }) => context.queue.length > 0,
      hasStatusToDeliver: ({ context }) => context.outbox.length > 0,
      reportsDue: ({ context }) => reportsAreDue(context),
      nothingToDo: ({ context }, params: { answer: PollAnswer }) =>
        context.outbox.length === 0 &&
        pendingPackages(context, params.answer.policy).length === 0 &&
        // The fields reports read, not a spread of the whole context with new settings: that costs a µs a poll.
        !reportsAreDue({
          profile: context.profile,
          identification: context.identification,
          settings: settingsAfter(context.settings, params.answer.policy),
          state: context.state,
          reportsSentAt: context.reportsSentAt,
          deps: context.deps,
        }),
    },
    actions: {
      /** Sends the reports due, built now. */
      askToReport: ({ context, self }) => {
        lineOf(context).ask(self, { type: 'sendReports', credentials: context.credentials, reports: dueReports(context) });
      },
      countFailure: assign({
        retries: ({ context: { retries } }, params: { error: unknown }) => ({
          attempts: retries.attempts + 1,
          retryAfterMs: retryAfterOf(params.error),
          reidentified: retries.reidentified,
        }),
      }),
      resetAttempts: assign({ retries: ({ context }) => withoutFailures(context.retries) }),
      schedulePoll: assign({ polls: ({ context }) => ({ firstAt: context.polls.firstAt, lastAt: context.polls.lastAt, dueAt: nextPollAt(context) }) }),
      // A cycle starts in idle, where no failure is being retried: only `reidentified` is left from the cycle before.
      notePollStarted: assign({
        polls: ({ context }) => ({ firstAt: context.polls.firstAt, lastAt: now(context), dueAt: context.polls.dueAt }),
        retries: NO_RETRIES,
      }),
      /** The site no longer knows the token: the next poll introduces the device afresh, as its first did. */
      forgetCredentials: assign(({ context }) => ({
        credentials: { uuid: context.credentials.uuid, auth: '', timestamp: '' },
        retries: { attempts: context.retries.attempts, retryAfterMs: context.retries.retryAfterMs, reidentified: true },
      })),
      /** Takes the poll answer: the settings it carries, the values to echo, and the packages still to handle. */
      acceptPolicy: assign(({ context }, { answer }: { answer: PollAnswer }) => ({
        credentials: credentialsAfter(context.credentials, answer),
        settings: settingsAfter(context.settings, answer.policy),
        packages: answer.policy.packages,
        queue: pendingPackages(context, answer.policy),
        retries: withoutFailures(context.retries),
      })),
      takeNextOffer: assign(({ context }) => ({ current: context.queue[0] ?? '', queue: context.queue.slice(1) })),
      /** The offer is over: handled for good (not handled again, whatever a later poll lists), or deferred. */
      closeOffer: assign(({ context }, { handled }: { handled: boolean }) => ({
        current: '',
        offer: null,
        ...(handled &&
          context.done[context.current] !== true && {
            done: { ...context.done, [context.current]: true as const },
            progress: withoutProgress(context.progress, context.current),
          }),
      })),
      removeDelivered: assign({
        outbox: ({ context }, params: { delivery: Delivery }) => withoutDelivered(context.outbox, new Set(params.delivery.delivered)),
      }),
      noteReportsSent: assign({
        reportsSentAt: ({ context }, params: { sent: ReportType[] }) => ({
          ...context.reportsSentAt,
          ...Object.fromEntries(params.sent.map((type) => [type, now(context)])),
        }),
      }),
    },
  })
  .createMachine({
    id: 'handheld',
    context: ({ input }) => {
      // A device started because its poll is due polls at once (see `starting`): its poll cycle starts now, as
      // notePollStarted starts one after the wait in idle (here, not in an action: one copy of the context less per
      // wake). Any other draws its due time in idle.
      const now = input.deps.site.clock.now();
      const polls = input.resting?.polls ?? { firstAt: input.firstPollAt ?? now, lastAt: null, dueAt: Number.NaN };
      // Poll times and retries are written out field by field, never spread: a spread that adds or changes a field
      // gives V8 a new shape to build, a µs each time.
      const started = { firstAt: polls.firstAt, lastAt: input.pollsAtOnce ? now : polls.lastAt, dueAt: input.pollsAtOnce ? now : Number.NaN };
      if (!input.resting) return freshContext(input, started);
      const { profile, credentials } = input.resting;
      // New keys before the spread, not after it: after it, V8 makes the object's shape anew each time (µs per wake).
      return { deps: input.deps, identification: identificationOf(profile, credentials.uuid), ...input.resting, retries: NO_RETRIES, polls: started };
    },
    on: {
      // Delivered while the device had moved on (a program that outran its delivery): what the site took leaves the
      // outbox all the same.
      'deliverStatus.done': { actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
    },
    // A device introduces itself with its first poll, not when the simulator starts it: a staggered fleet arrives
    // staggered, and an idle fleet costs the site nothing.
    initial: 'starting',
    states: {
      // A device the fleet put to sleep in idle (simulator/dormant-device.ts) is started again when its poll is due, and
      // takes the transition its own poll timer would have. Started afresh with its context, not restored from a
      // snapshot: restoring walks the whole context (files, registry, outbox) for actors to revive, at every wake.
      starting: {
        always: [{ guard: 'startedToPoll', target: 'polling' }, { target: 'idle' }],
      },
      idle: {
        entry: 'schedulePoll',
        // The poll interval runs from the start of a poll cycle, not from its last retry.
        after: { untilNextPoll: { target: 'polling', actions: 'notePollStarted' } },
      },

      polling: {
        entry: {
          type: 'ask',
          params: ({ context }) => ({
            type: 'poll',
            credentials: context.credentials,
            identification: context.identification,
          }),
        },
        on: {
          'poll.done': [
            // Most polls find nothing to do and nothing to send: straight back to idle.
            {
              guard: { type: 'nothingToDo', params: ({ event }) => ({ answer: event.output }) },
              target: 'idle',
              actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) },
            },
            { target: 'evaluating', actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) } },
          ],
          'poll.failed': [
            {
              // A token the site no longer takes (it lost its database, say): poll again at once without it.
              guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) },
              target: 'polling',
              reenter: true,
              actions: [
                'forgetCredentials',
                { type: 'log', params: ({ event }) => ({ level: 'info', message: 'site refused the token, polling afresh', error: event.error }) },
              ],
            },
            {
              guard: 'canRetryPoll',
              target: 'pollBackoff',
              actions: [
                { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
                { type: 'log', params: ({ event }) => ({ level: 'info', message: 'poll failed, will retry', error: event.error }) },
              ],
            },
            {
              // Still delivers what it holds (an empty outbox sends nothing): the site may take status but not polls.
              target: 'reporting',
              actions: [
                'resetAttempts',
                { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'poll failed, giving up until the next poll', error: event.error }) },
              ],
            },
          ],
        },
      },
      pollBackoff: { after: { pollRetryDelay: 'polling' } },

      evaluating: {
        // Packages all deferred without a record (not yet started, say) leave nothing to deliver.
        always: [
          { guard: 'hasOfferToHandle', target: 'fetchingInstructions', actions: 'takeNextOffer' },
          { guard: 'hasStatusToDeliver', target: 'reporting' },
          { guard: 'reportsDue', target: 'inventorying' },
          { target: 'idle' },
        ],
      },

      fetchingInstructions: {
        entry: { type: 'ask', params: ({ context }) => ({ type: 'fetchInstructions', credentials: context.credentials, packageId: context.current }) },
        on: {
          'fetchInstructions.done': { target: 'offer', actions: { type: 'openOffer', params: ({ event }) => ({ instructions: event.output }) } },
          'fetchInstructions.failed': [
            { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
            {
              target: 'evaluating',
              actions: {
                type: 'log',
                params: ({ event }) => ({ level: 'warn', message: 'instructions unavailable, deferring to the next poll', error: event.error }),
              },
            },
          ],
        },
      },

      offer: {
        ...offerState,
        onDone: [
          {
            guard: 'offerLostIdentity',
            target: 'polling',
            actions: [{ type: 'closeOffer', params: { handled: false } }, 'forgetCredentials'],
          },
          { target: 'evaluating', actions: { type: 'closeOffer', params: ({ event }) => ({ handled: event.output === 'handled' }) } },
        ],
      },

      reporting: {
        entry: 'askToDeliver',
        on: {
          'deliverStatus.done': [
            { guard: 'reportsDue', target: 'inventorying', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
            { target: 'idle', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
          ],
          'deliverStatus.failed': [
            { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
            { target: 'idle', actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'status not delivered', error: event.error }) } },
          ],
        },
      },

      /** Inventory and collected files the poll response asked for, each at its interval. */
      inventorying: {
        entry: 'askToReport',
        on: {
          'sendReports.done': { target: 'idle', actions: { type: 'noteReportsSent', params: ({ event }) => ({ sent: event.output }) } },
          'sendReports.failed': [
            { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
            { target: 'idle', actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'reports not sent', error: event.error }) } },
          ],
        },
      },
    },
  });

/** A device's context when the simulator first starts it: what it remembered from an earlier run, if anything. */
function freshContext(input: HandheldInput, polls: PollTimes): HandheldContext {
  const identification = identificationOf(input.profile);
  // Fields that memory never holds before its spread, as in a woken device's context.
  return {
    deps: input.deps,
    identification,
    retries: NO_RETRIES,
    polls,
    profile: input.profile,
    credentials: { uuid: identification.id, auth: '', timestamp: '' },
    settings: DEFAULT_DEVICE_SETTINGS,
    packages: [],
    queue: [],
    current: '',
    offer: null,
    deferrals: {},
    done: {},
    progress: NOTHING_IN_PROGRESS,
    state: PRISTINE,
    outbox: EMPTY_OUTBOX,
    boot: (input.startedAt ?? input.deps.site.clock.now()).toString(36),
    seq: 0,
    reportsSentAt: {},
    ...input.memory,
  };
}

/**
 * When the next poll is due: before the first poll, when the fleet staggered it; after that, the first whole
 * interval after the last cycle's start that is still ahead, so a cycle whose retries outlast the interval does not
 * poll again at once, and a staggered fleet keeps its stagger. ±2% jitter per poll keeps devices from drifting back
 * into step. Drawn once per wait, on entering idle.
 */
function nextPollAt(context: HandheldContext): number {
  const { firstAt, lastAt: start } = context.polls;
  if (start === null) return firstAt;
  const interval = Math.round(context.settings.client.pollIntervalMs * (0.98 + 0.04 * context.deps.random.next()));
  return start + Math.max(1, Math.ceil((now(context) - start) / interval)) * interval;
}

/** The retries of a cycle whose poll went through, or was given up: what is left is whether it re-identified. */
function withoutFailures(retries: PollRetries): PollRetries {
  return retries.attempts === 0 && retries.retryAfterMs === null ? retries : { attempts: 0, retryAfterMs: null, reidentified: retries.reidentified };
}

/** The credentials after a poll answer: the same object when nothing changed, so an unchanged device is not saved again. */
function credentialsAfter(credentials: Credentials, answer: PollAnswer): Credentials {
  const auth = answer.auth ?? credentials.auth;
  const timestamp = answer.timestamp ?? credentials.timestamp;
  return auth === credentials.auth && timestamp === credentials.timestamp ? credentials : { uuid: credentials.uuid, auth, timestamp };
}

/** The settings after a poll response: a group the server left out keeps its previous value. */
function settingsAfter(settings: DeviceSettings, policy: PollResponse): DeviceSettings {
  return {
    client: policy.client ?? settings.client,
    softwareInventory: policy.softwareInventory ?? settings.softwareInventory,
    fileCollection: policy.fileCollection ?? settings.fileCollection,
    machineInventory: policy.machineInventory ?? settings.machineInventory,
  };
}

/** The packages of a poll response this device has still to handle. */
function pendingPackages(context: HandheldContext, policy: PollResponse): string[] {
  return policy.packages.filter((id) => context.done[id] !== true);
}
