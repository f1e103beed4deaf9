import { fromCallback } from 'xstate';
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

/** What a state sends the line: `{ type: 'poll', credentials, policyVersion }`. */
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

/**
 * A device's line to its site: one actor for the device's whole life that runs each exchange a state asks for and
 * sends back its answer as an event. One long-lived actor, not an invoked actor per exchange: a fleet polls
 * thousands of times a second, and starting and stopping an actor per poll cost more than the poll's HTTP (see
 * bench/). An answer that comes after its state was left is handled where the statechart says, or dropped.
 */
export const siteLine = fromCallback<SiteRequest, SiteConnection, SiteAnswer>(({ input: connection, receive, sendBack }) => {
  receive((request) => {
    const exchange = EXCHANGES[request.type] as (connection: SiteConnection, request: SiteRequest) => Promise<unknown>;
    exchange(connection, request).then(
      (output) => sendBack({ type: `${request.type}.done`, output } as SiteAnswer),
      (error: unknown) => sendBack({ type: `${request.type}.failed`, error } as SiteAnswer),
    );
  });
});
