import type { ComplianceState } from './configuration-item.js';

/**
 * ConfigMgr's advertisement states (MessageState) with the console's names, as it shows a device's place in an
 * advertisement: every targeted device is in exactly one. `noStatus` is a targeted device the site has heard nothing
 * from about it. In the console's order.
 */
export const STATE_NAMES = {
  noStatus: 'No Status',
  accepted: 'Accepted',
  waiting: 'Waiting',
  downloading: 'Download in Progress',
  downloadComplete: 'Download Complete',
  retrying: 'Retrying',
  running: 'Running',
  rebootPending: 'Reboot Pending',
  succeeded: 'Succeeded',
  failed: 'Failed',
  rejected: 'Rejected',
  expired: 'Expired',
  willNotRerun: 'Will Not Rerun',
} as const;
export type AdvertisementState = keyof typeof STATE_NAMES;
export const ADVERTISEMENT_STATES = Object.keys(STATE_NAMES) as AdvertisementState[];

/** States a device is still on its way out of: it may yet succeed or fail. */
export const IN_PROGRESS_STATES: readonly AdvertisementState[] = [
  'accepted',
  'waiting',
  'downloading',
  'downloadComplete',
  'retrying',
  'running',
  'rebootPending',
];
/** States in which a device will not run the advertisement: it cannot finish it. */
export const NOT_APPLICABLE_STATES: readonly AdvertisementState[] = ['rejected', 'expired', 'willNotRerun'];

/** The state a status message puts a device in (never `noStatus`). */
export type MessageState = Exclude<AdvertisementState, 'noStatus'>;

/**
 * Software-distribution status message ids. `verified: false` marks ids that public sources cite but we could not
 * confirm from Microsoft documentation (see README, "Status message ids").
 */

interface MessageDefinition {
  id: number;
  name: string;
  state: MessageState;
  verified: boolean;
}

const define = <T extends Record<string, MessageDefinition>>(table: T) => table;

export const STATUS = define({
  advertisementReceived: { id: 10002, name: 'Advertisement received', state: 'accepted', verified: true },
  programStarted: { id: 10005, name: 'Program started', state: 'running', verified: false },
  programFailed: { id: 10006, name: 'Program failed (non-zero exit code)', state: 'failed', verified: true },
  programSucceeded: { id: 10008, name: 'Program completed successfully (exit code)', state: 'succeeded', verified: true },
  rejectedPlatform: { id: 10018, name: 'Program rejected: platform requirements not met', state: 'rejected', verified: false },
  advertisementExpired: { id: 10019, name: 'Program rejected: advertisement expired', state: 'expired', verified: false },
  restartPending: { id: 10022, name: 'Preliminary success, restart pending', state: 'rebootPending', verified: true },
  contentTooLarge: { id: 10050, name: 'Download failed: package larger than the cache', state: 'failed', verified: true },
  programRetrying: {
    id: 10035,
    name: 'Program will be retried: its download failed and the advertisement reruns after a failure',
    state: 'retrying',
    verified: false,
  },
  willNotRerun: {
    id: 10040,
    name: "Program will not rerun: it ran before and the advertisement's rerun setting does not allow it",
    state: 'willNotRerun',
    verified: false,
  },
  programWaiting: { id: 10037, name: 'Program waiting: its schedule or connection requirements are not met yet', state: 'waiting', verified: false },
  contentMismatch: { id: 10057, name: 'Program failed: content did not match the source', state: 'failed', verified: true },
  maxRunTimeExceeded: { id: 10070, name: 'Program exceeded its maximum run time', state: 'failed', verified: false },
  downloadStarted: { id: 11030, name: 'Starting package download', state: 'downloading', verified: true },
  downloadSucceeded: { id: 11031, name: 'Download successful', state: 'downloadComplete', verified: true },
  downloadFailed: { id: 11032, name: 'Download unsuccessful', state: 'failed', verified: true },
  executionSucceeded: { id: 11035, name: 'Execution successful', state: 'succeeded', verified: true },
});

export type StatusKey = keyof typeof STATUS;

const BY_ID = new Map<number, MessageDefinition>(Object.values(STATUS).map((m) => [m.id, m]));

export function describeMessage(messageId: number): MessageDefinition | undefined {
  return BY_ID.get(messageId);
}

/** Device client download status (Download Event Status document) uses 11030-11035. */
export function isDownloadEvent(messageId: number): boolean {
  return messageId >= 11030 && messageId <= 11035;
}

/** One status message as the device sends it; `id` is unique per device and message, the de-duplication key. */
export interface StatusMessage {
  id: string;
  deviceId: string;
  advertisementId: string;
  packageId: string;
  messageId: number;
  time: number;
  details: Record<string, string>;
}

/** One configuration item's evaluation result (ComplianceReport extension document). */
export interface ComplianceResult {
  id: string;
  deviceId: string;
  advertisementId: string;
  packageId: string;
  itemId: string;
  state: ComplianceState;
  time: number;
}
