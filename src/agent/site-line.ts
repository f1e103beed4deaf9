import { createActor, fromCallback, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { DeviceIdentity, InstructionResponse, PackageLocationResponse, PollResponse } from '../protocol/documents.js';
import { downloadPackage, type DownloadedContent, type DownloadRequest } from './downloader.js';
import type { Credentials, SiteConnection } from './site-connection.js';
import { deliverOutbox, type Delivery, type Outbox } from './status-outbox.js';

/** Every exchange a device has with its site: what a state asks for, and what comes back when it succeeds. */
interface SiteExchanges {
  register: { request: { identity: DeviceIdentity }; output: string };
  poll: { request: { credentials: Credentials; policyVersion: number | null }; output: PollResponse };
  fetchInstructions: { request: { credentials: Credentials; advertisementId: string }; output: InstructionResponse };
  locateContent: { request: { credentials: Credentials; packageId: string; version: number }; output: PackageLocationResponse };
  download: { request: { download: DownloadRequest }; output: DownloadedContent };
  deliverStatus: { request: { credentials: Credentials; outbox: Outbox }; output: Delivery };
}
type Exchange = keyof SiteExchanges;

/** What a state asks the line for: `{ type: 'poll', credentials, policyVersion }`. */
export type SiteRequest = { [K in Exchange]: { type: K } & SiteExchanges[K]['request'] }[Exchange];

/** What the line sends back: `poll.done` with the exchange's output, or `poll.failed` with its error. */
export type SiteAnswer = {
  [K in Exchange]: { type: `${K}.done`; output: SiteExchanges[K]['output'] } | { type: `${K}.failed`; error: unknown };
}[Exchange];

const EXCHANGES: { [K in Exchange]: (connection: SiteConnection, request: SiteExchanges[K]['request']) => Promise<SiteExchanges[K]['output']> } = {
  register: (connection, { identity }) => connection.register(identity),
  poll: (connection, { credentials, policyVersion }) => connection.poll(credentials, policyVersion),
  fetchInstructions: (connection, { credentials, advertisementId }) => connection.instructions(credentials, advertisementId),
  locateContent: (connection, { credentials, packageId, version }) => connection.locate(credentials, packageId, version),
  download: (connection, { download }) => downloadPackage(connection, download),
  deliverStatus: (connection, { credentials, outbox }) => deliverOutbox(connection, credentials, outbox),
};

/** The answers' event types, made once: the statechart looks each answer up by its type. */
const ANSWERS = Object.fromEntries(Object.keys(EXCHANGES).map((type) => [type, { done: `${type}.done`, failed: `${type}.failed` }])) as {
  [K in Exchange]: { done: `${K}.done`; failed: `${K}.failed` };
};

/**
 * The devices' line to their site: an actor that runs each exchange a device's state asks for and sends the answer
 * back to that device as an event. One line serves every device on a connection, as the connection's socket pool
 * does. Not an invoked actor per exchange: starting and stopping an actor per poll cost a third of a fleet's CPU;
 * nor one per device: it cost 2 KB of each idle device's memory (see bench/). An answer that comes after its state
 * was left is handled where the statechart says, or dropped; one for a stopped device is dropped.
 */
const siteLine = fromCallback<SiteRequest & { replyTo: AnyActorRef }, SiteConnection>(({ input: connection, receive }) => {
  receive((request) => {
    const exchange = EXCHANGES[request.type] as (connection: SiteConnection, request: SiteRequest) => Promise<unknown>;
    const answer = ANSWERS[request.type];
    exchange(connection, request).then(
      (output) => request.replyTo.send({ type: answer.done, output }),
      (error: unknown) => request.replyTo.send({ type: answer.failed, error }),
    );
  });
});

type SiteLine = ActorRefFrom<typeof siteLine>;

const lines = new WeakMap<SiteConnection, SiteLine>();

/** The line of a connection, started at its first use. */
export function siteLineOf(connection: SiteConnection): SiteLine {
  let line = lines.get(connection);
  if (!line) {
    line = createActor(siteLine, { input: connection }).start();
    lines.set(connection, line);
  }
  return line;
}
