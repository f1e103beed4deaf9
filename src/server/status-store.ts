import Database from 'better-sqlite3';
import type { ComplianceState } from '../domain/configuration-item.js';
import type { DeviceStatusMessage } from '../domain/device-status.js';
import type { Translation } from './status-translation.js';
import type { AdvertisementStatus } from '../admin/contract.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { DeviceStore, KnownDevice } from './device-registry.js';
import {
  ADVERTISEMENT_STATES,
  describeMessage,
  type AdvertisementState,
  type ComplianceResult,
  type MessageState,
  type StatusMessage,
} from '../domain/status-message.js';

/** A status message as a device sent it, its de-duplication key, and the records the site makes of it. */
export interface ReceivedMessage {
  key: string;
  message: DeviceStatusMessage;
  records: Translation;
}

export interface AcceptResult {
  accepted: number;
  duplicates: number;
}

interface LastState {
  time: number;
  state: MessageState;
}

interface LastCompliance {
  time: number;
  state: ComplianceState;
}

/**
 * Status message intake. Every accepted record is committed to SQLite (WAL) before the device hears "accepted", so
 * a site that is killed and restarted on the same database loses nothing it acknowledged. Records are
 * de-duplicated by id, so a device that retries a batch it could not confirm is counted once. In memory it keeps,
 * per advertisement and device, the last state (as SMS_ClientAdvertisementStatus) for the console's counts,
 * rebuilt from the database on start in the order it was built: by time, then by arrival.
 *
 * It is also the site's device store (`known_devices`): the devices status is counted over live in the same file as
 * the status, so a site restarted on it knows the same devices, with the same tokens.
 */
export class StatusStore implements DeviceStore {
  private readonly db: Database.Database;
  private readonly insertMessage: Database.Statement;
  private readonly insertCompliance: Database.Statement;
  private readonly insertDeviceMessage: Database.Statement;
  private readonly upsertDevice: Database.Statement;
  /**
   * Each stores, in one transaction, the records not seen before (by id) and gives them back. Made once: better-sqlite3
   * builds a transaction's wrappers each time one is made, which cost as much as the inserts of a small document.
   */
  private readonly storeDeviceStatus: (deviceId: string, messages: readonly ReceivedMessage[]) => ReceivedMessage[];
  private readonly storeStatus: (messages: StatusMessage[]) => StatusMessage[];
  private readonly storeCompliance: (results: ComplianceResult[]) => ComplianceResult[];
  private readonly lastState = new Map<string, Map<string, LastState>>();
  /** Per advertisement, item and device: the latest compliance result's state (the console's counts). */
  private readonly lastCompliance = new Map<string, Map<string, Map<string, LastCompliance>>>();
  private readonly received = new Map<string, Set<string>>();
  private readonly messageCounts = new Map<string, Map<number, number>>();

  /** `file` is a SQLite database path, or ":memory:" for a store that lasts as long as the process. */
  constructor(file = ':memory:') {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // WAL with NORMAL survives a killed process; only a power loss could cost the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS status_messages (
        arrival INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, advertisement_id TEXT NOT NULL,
        package_id TEXT NOT NULL, message_id INTEGER NOT NULL, time INTEGER NOT NULL, details TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS device_messages (
        arrival INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, package_id TEXT NOT NULL,
        message_id INTEGER NOT NULL, time INTEGER NOT NULL, parameters TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS compliance_results (
        arrival INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, advertisement_id TEXT NOT NULL,
        package_id TEXT NOT NULL, item_id TEXT NOT NULL, state TEXT NOT NULL, time INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS known_devices (
        uuid TEXT PRIMARY KEY, name TEXT NOT NULL, platform TEXT NOT NULL, identification TEXT NOT NULL,
        auth_token TEXT NOT NULL, first_poll_at INTEGER NOT NULL, last_poll_at INTEGER NOT NULL, confirmed INTEGER NOT NULL DEFAULT 1);
      -- The admin API pages through these in this order: an index answers a page without sorting the table.
      CREATE INDEX IF NOT EXISTS status_messages_by_time ON status_messages (time, arrival);
      CREATE INDEX IF NOT EXISTS status_messages_by_advertisement ON status_messages (advertisement_id, time, arrival);
      CREATE INDEX IF NOT EXISTS compliance_results_by_time ON compliance_results (time, arrival);`);
    this.insertMessage = this.db.prepare(
      'INSERT OR IGNORE INTO status_messages VALUES (NULL, @id, @deviceId, @advertisementId, @packageId, @messageId, @time, @details)',
    );
    this.insertCompliance = this.db.prepare(
      'INSERT OR IGNORE INTO compliance_results VALUES (NULL, @id, @deviceId, @advertisementId, @packageId, @itemId, @state, @time)',
    );
    this.insertDeviceMessage = this.db.prepare(
      'INSERT OR IGNORE INTO device_messages VALUES (NULL, @id, @deviceId, @packageId, @messageId, @time, @parameters)',
    );
    // A database written before tokens were confirmed: its devices all count as confirmed.
    if (!(this.db.pragma('table_info(known_devices)') as { name: string }[]).some((column) => column.name === 'confirmed')) {
      this.db.exec('ALTER TABLE known_devices ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1');
    }
    this.upsertDevice = this.db.prepare(
      'INSERT OR REPLACE INTO known_devices VALUES (@uuid, @name, @platform, @identification, @authToken, @firstPollAt, @lastPollAt, @confirmed)',
    );
    this.storeDeviceStatus = this.db.transaction((deviceId: string, messages: readonly ReceivedMessage[]) =>
      messages.filter(({ key, message, records }) => {
        const row = {
          id: key,
          deviceId,
          packageId: message.packageId,
          messageId: message.messageId,
          time: message.time,
          parameters: JSON.stringify(message.parameters),
        };
        if (this.insertDeviceMessage.run(row).changes === 0) return false;
        for (const record of records.status) this.insertMessage.run({ ...record, details: JSON.stringify(record.details) });
        for (const result of records.compliance) this.insertCompliance.run(result);
        return true;
      }),
    );
    this.storeStatus = this.db.transaction((messages: StatusMessage[]) =>
      messages.filter((m) => this.insertMessage.run({ ...m, details: JSON.stringify(m.details) }).changes === 1),
    );
    this.storeCompliance = this.db.transaction((results: ComplianceResult[]) => results.filter((r) => this.insertCompliance.run(r).changes === 1));
    for (const message of this.statusMessages()) this.index(message);
    for (const result of this.complianceResults()) this.indexCompliance(result);
  }

  /** The devices the site knows (DeviceStore), as last written. */
  knownDevices(): KnownDevice[] {
    const rows = this.db.prepare('SELECT * FROM known_devices ORDER BY name').all() as {
      uuid: string;
      name: string;
      platform: string;
      identification: string;
      auth_token: string;
      first_poll_at: number;
      last_poll_at: number;
      confirmed: number;
    }[];
    return rows.map((r) => ({
      uuid: r.uuid,
      name: r.name,
      platform: r.platform,
      identification: JSON.parse(r.identification) as Identification,
      authToken: r.auth_token,
      firstPollAt: r.first_poll_at,
      lastPollAt: r.last_poll_at,
      confirmed: r.confirmed === 1,
    }));
  }

  /** Keeps a known device (DeviceStore), committed before the poll that made it known is answered. */
  saveDevice(device: KnownDevice): void {
    this.upsertDevice.run({ ...device, identification: JSON.stringify(device.identification), confirmed: device.confirmed ? 1 : 0 });
  }

  /** Deletes every known device (DeviceStore); their status stays. */
  forgetDevices(): void {
    this.db.exec('DELETE FROM known_devices');
  }

  /** The devices with a 10002 (Program received) for an advertisement, known to the site or not. */
  receivedDevices(advertisementId: string): ReadonlySet<string> {
    return this.received.get(advertisementId) ?? new Set<string>();
  }

  /**
   * Takes a device's Status document in one transaction: each message not seen before (by its key) is kept as the
   * device sent it, with the records it stands for (see status-translation.ts). A message sent again adds nothing.
   */
  acceptDeviceStatus(deviceId: string, messages: readonly ReceivedMessage[]): AcceptResult {
    const fresh = this.storeDeviceStatus(deviceId, messages);
    for (const { records } of fresh) {
      records.status.forEach((m) => {
        this.index(m);
      });
      records.compliance.forEach((r) => {
        this.indexCompliance(r);
      });
    }
    return { accepted: fresh.length, duplicates: messages.length - fresh.length };
  }

  acceptStatus(messages: StatusMessage[]): AcceptResult {
    const fresh = this.storeStatus(messages);
    for (const m of fresh) this.index(m);
    return { accepted: fresh.length, duplicates: messages.length - fresh.length };
  }

  acceptCompliance(results: ComplianceResult[]): AcceptResult {
    const fresh = this.storeCompliance(results);
    for (const r of fresh) this.indexCompliance(r);
    return { accepted: fresh.length, duplicates: results.length - fresh.length };
  }

  private indexCompliance(result: ComplianceResult): void {
    const perItem = getOrCreate(this.lastCompliance, result.advertisementId, () => new Map<string, Map<string, LastCompliance>>());
    const perDevice = getOrCreate(perItem, result.itemId, () => new Map<string, LastCompliance>());
    const previous = perDevice.get(result.deviceId);
    if (!previous || previous.time <= result.time) perDevice.set(result.deviceId, { time: result.time, state: result.state });
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
    const rows = this.db.prepare(`SELECT * FROM status_messages WHERE ${where(filter)} ORDER BY time, arrival${page(filter)}`).all(bound(filter)) as {
      id: string;
      device_id: string;
      advertisement_id: string;
      package_id: string;
      message_id: number;
      time: number;
      details: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      advertisementId: r.advertisement_id,
      packageId: r.package_id,
      messageId: r.message_id,
      time: r.time,
      details: JSON.parse(r.details) as Record<string, string>,
    }));
  }

  complianceResults(filter: RecordFilter = {}): ComplianceResult[] {
    const rows = this.db.prepare(`SELECT * FROM compliance_results WHERE ${where(filter)} ORDER BY time, arrival${page(filter)}`).all(bound(filter)) as {
      id: string;
      device_id: string;
      advertisement_id: string;
      package_id: string;
      item_id: string;
      state: ComplianceState;
      time: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      advertisementId: r.advertisement_id,
      packageId: r.package_id,
      itemId: r.item_id,
      state: r.state,
      time: r.time,
    }));
  }

  get messageCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM status_messages').get() as { n: number }).n;
  }

  /** Status messages as devices sent them, oldest first: a device's own account of what it did. */
  deviceMessages(filter: Pick<RecordFilter, 'deviceId'> = {}): (DeviceStatusMessage & { id: string; deviceId: string })[] {
    const rows = this.db.prepare(`SELECT * FROM device_messages WHERE ${where(filter)} ORDER BY time, arrival`).all(filter) as {
      id: string;
      device_id: string;
      package_id: string;
      message_id: number;
      time: number;
      parameters: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      packageId: r.package_id,
      messageId: r.message_id,
      time: r.time,
      parameters: JSON.parse(r.parameters) as Record<string, string>,
    }));
  }

  /** Status messages as devices sent them, each counted once. */
  get deviceMessageCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM device_messages').get() as { n: number }).n;
  }

  get complianceCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM compliance_results').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }

  /** A device's last state for an advertisement (its last status message's), if the site has any. */
  lastStateOf(advertisementId: string, deviceId: string): MessageState | undefined {
    return this.lastState.get(advertisementId)?.get(deviceId)?.state;
  }

  /**
   * What the console shows for one advertisement: every targeted device in exactly one state (its last status
   * message's, or No Status), so the states add up to `targeted`; with `withDevices`, which devices are in each.
   */
  summary(advertisementId: string, targeted: readonly string[], availableSince: number, withDevices = false): AdvertisementStatus {
    const byState = Object.fromEntries(ADVERTISEMENT_STATES.map((s) => [s, 0])) as Record<AdvertisementState, number>;
    const devicesByState = Object.fromEntries(ADVERTISEMENT_STATES.map((s) => [s, [] as string[]])) as Record<AdvertisementState, string[]>;
    const last = this.lastState.get(advertisementId);
    for (const device of targeted) {
      const state = last?.get(device)?.state ?? 'noStatus';
      byState[state]++;
      if (withDevices) devicesByState[state].push(device);
    }
    const compliance: AdvertisementStatus['compliance'] = {};
    for (const [itemId, perDevice] of this.lastCompliance.get(advertisementId) ?? []) {
      const counts = (compliance[itemId] ??= { compliant: 0, remediated: 0, nonCompliant: 0, notApplicable: 0 });
      for (const { state } of perDevice.values()) counts[state]++;
    }
    return {
      advertisementId,
      availableSince,
      targeted: targeted.length,
      received: this.received.get(advertisementId)?.size ?? 0,
      byState,
      ...(withDevices && { devicesByState }),
      byMessageId: Object.fromEntries([...(this.messageCounts.get(advertisementId) ?? new Map<number, number>())].sort(([a], [b]) => a - b)),
      compliance,
    };
  }
}

export interface RecordFilter {
  advertisementId?: string;
  deviceId?: string;
  /** A page of the records (the admin API's listings): at most `limit`, after skipping `offset`. All when absent. */
  limit?: number;
  offset?: number;
}

/** The SQL paging clause of a filter. */
function page(filter: RecordFilter): string {
  return filter.limit === undefined ? '' : ` LIMIT ${filter.limit} OFFSET ${filter.offset ?? 0}`;
}

/** The named values a filter's condition binds (better-sqlite3 refuses values the statement does not name). */
function bound({ advertisementId, deviceId }: RecordFilter): Pick<RecordFilter, 'advertisementId' | 'deviceId'> {
  return { ...(advertisementId !== undefined && { advertisementId }), ...(deviceId !== undefined && { deviceId }) };
}

/** The SQL condition for a filter; its values bind by name. */
function where(filter: RecordFilter): string {
  const conditions = [
    ...(filter.advertisementId === undefined ? [] : ['advertisement_id = @advertisementId']),
    ...(filter.deviceId === undefined ? [] : ['device_id = @deviceId']),
  ];
  return conditions.length === 0 ? '1' : conditions.join(' AND ');
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
