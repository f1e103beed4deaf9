import type { ComplianceState } from '../domain/configuration-item.js';
import { describeMessage, type ComplianceResult, type MessageState, type StatusMessage } from '../domain/status-message.js';

export interface AcceptResult {
  accepted: number;
  duplicates: number;
}

/** What the ConfigMgr console shows for one advertisement. */
export interface AdvertisementStatus {
  advertisementId: string;
  /** Epoch ms from which devices could act on it: its creation or available time, whichever is later. */
  availableSince: number;
  targeted: number;
  /** Devices that sent 10002. */
  received: number;
  /** Devices by the state of their last status message. */
  byState: Record<MessageState, number>;
  /** Status messages by ConfigMgr message id. */
  byMessageId: Record<string, number>;
  /** Configuration item id → devices by their last compliance state for it. */
  compliance: Record<string, Record<ComplianceState, number>>;
}

const MESSAGE_STATES: MessageState[] = ['accepted', 'rejected', 'expired', 'downloading', 'downloaded', 'running', 'rebootPending', 'succeeded', 'failed'];

interface LastState {
  time: number;
  state: MessageState;
}

/**
 * Status message intake. Messages are de-duplicated by their id, so a device that retries a batch it could not
 * confirm is counted once. Per advertisement and device it keeps the last state, as SMS_ClientAdvertisementStatus.
 */
export class StatusStore {
  private readonly messages = new Map<string, StatusMessage>();
  private readonly compliance = new Map<string, ComplianceResult>();
  private readonly lastState = new Map<string, Map<string, LastState>>();
  private readonly lastCompliance = new Map<string, Map<string, ComplianceResult>>();
  private readonly received = new Map<string, Set<string>>();
  private readonly messageCounts = new Map<string, Map<number, number>>();

  acceptStatus(messages: StatusMessage[]): AcceptResult {
    return acceptNew(this.messages, messages, (message) => this.index(message));
  }

  acceptCompliance(results: ComplianceResult[]): AcceptResult {
    return acceptNew(this.compliance, results, (result) => {
      const perItem = getOrCreate(this.lastCompliance, result.advertisementId, () => new Map<string, ComplianceResult>());
      const key = `${result.itemId}\n${result.deviceId}`;
      const previous = perItem.get(key);
      if (!previous || previous.time <= result.time) perItem.set(key, result);
    });
  }

  private index(message: StatusMessage): void {
    const ad = message.advertisementId;
    const counts = getOrCreate(this.messageCounts, ad, () => new Map<number, number>());
    counts.set(message.messageId, (counts.get(message.messageId) ?? 0) + 1);
    if (message.messageId === 10002) getOrCreate(this.received, ad, () => new Set<string>()).add(message.deviceId);
    const state = describeMessage(message.messageId)?.state;
    if (!state) return;
    const perDevice = getOrCreate(this.lastState, ad, () => new Map<string, LastState>());
    const previous = perDevice.get(message.deviceId);
    // Messages stamped at the same instant keep their arrival order: the later one is the last state.
    if (!previous || previous.time <= message.time) perDevice.set(message.deviceId, { time: message.time, state });
  }

  statusMessages(filter: RecordFilter = {}): StatusMessage[] {
    return matching(this.messages.values(), filter);
  }

  complianceResults(filter: RecordFilter = {}): ComplianceResult[] {
    return matching(this.compliance.values(), filter);
  }

  get messageCount(): number {
    return this.messages.size;
  }

  get complianceCount(): number {
    return this.compliance.size;
  }

  summary(advertisementId: string, targeted: number, availableSince: number): AdvertisementStatus {
    const byState = Object.fromEntries(MESSAGE_STATES.map((s) => [s, 0])) as Record<MessageState, number>;
    for (const { state } of this.lastState.get(advertisementId)?.values() ?? []) byState[state]++;
    const compliance: AdvertisementStatus['compliance'] = {};
    for (const result of this.lastCompliance.get(advertisementId)?.values() ?? []) {
      const counts = (compliance[result.itemId] ??= { compliant: 0, remediated: 0, nonCompliant: 0, notApplicable: 0 });
      counts[result.state]++;
    }
    return {
      advertisementId,
      availableSince,
      targeted,
      received: this.received.get(advertisementId)?.size ?? 0,
      byState,
      byMessageId: Object.fromEntries([...(this.messageCounts.get(advertisementId) ?? new Map<number, number>())].sort(([a], [b]) => a - b)),
      compliance,
    };
  }
}

export interface RecordFilter {
  advertisementId?: string;
  deviceId?: string;
}

interface DeviceRecord {
  id: string;
  deviceId: string;
  advertisementId: string;
}

/** Stores the records not seen before (by id) and indexes each; a retried batch is counted once. */
function acceptNew<T extends DeviceRecord>(store: Map<string, T>, records: T[], index: (record: T) => void): AcceptResult {
  let accepted = 0;
  for (const record of records) {
    if (store.has(record.id)) continue;
    store.set(record.id, record);
    accepted++;
    index(record);
  }
  return { accepted, duplicates: records.length - accepted };
}

function matching<T extends DeviceRecord>(records: Iterable<T>, filter: RecordFilter): T[] {
  return [...records].filter(
    (r) => (filter.advertisementId === undefined || r.advertisementId === filter.advertisementId) && (filter.deviceId === undefined || r.deviceId === filter.deviceId),
  );
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
