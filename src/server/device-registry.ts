import { randomBytes } from 'node:crypto';
import type { Identification } from '../protocol/documents/device-poll.js';
import { SiteError } from './site-error.js';
import { DEFAULT_SITE_LIMITS, type DeviceLimits } from './site-limits.js';

/** A device as the site knows it from its polls: `X-Device-UUID`, the token the site gave it, and its Identification. */
export interface KnownDevice {
  readonly uuid: string;
  /** The device's resource name (`Identification/DeviceName`): collections, status and reports name it so. */
  readonly name: string;
  readonly platform: string;
  readonly identification: Identification;
  readonly authToken: string;
  readonly firstPollAt: number;
  readonly lastPollAt: number;
  /**
   * The device has used its token (presented it on a later request). Until then the token is pending: the answer
   * that carried it may have been lost, so a poll without it is given a fresh one instead of a 401.
   */
  readonly confirmed: boolean;
}

/**
 * Where the registry keeps the devices it knows, so that a site restarted on the same store knows the same devices
 * with the same tokens. The site's is its status database (StatusStore): the devices and their status survive
 * together, so targeted and received count the same devices.
 */
export interface DeviceStore {
  /** Every device kept, in any order. */
  knownDevices(): KnownDevice[];
  /** Keeps a device (new, or its record replaced). */
  saveDevice(device: KnownDevice): void;
  /** Deletes every device record. */
  forgetDevices(): void;
}

/** A device store that lasts as long as the process: the default, for a registry without a database. */
export class MemoryDeviceStore implements DeviceStore {
  private readonly devices = new Map<string, KnownDevice>();

  knownDevices(): KnownDevice[] {
    return [...this.devices.values()];
  }

  saveDevice(device: KnownDevice): void {
    this.devices.set(device.uuid, device);
  }

  forgetDevices(): void {
    this.devices.clear();
  }
}

/**
 * The devices the site knows, by X-Device-UUID. A device is known from its first poll (X-Device-UUID plus
 * Identification) and given a token in X-Device-Auth, which it echoes from then on.
 *
 * It writes through to its store when a device is first known, and when a poll brings a new platform or device name
 * (the name it is reported by stays the one it was first known by). A poll that changes nothing else is not written:
 * the store's `lastPollAt` is the time of the device's last written poll, not of its last poll.
 */
export class DeviceRegistry {
  private readonly byUuid = new Map<string, KnownDevice>();
  /** Devices first known from each source address since the site started: the per-source bound counts these. */
  private readonly perSource = new Map<string, number>();
  /** The names devices are known by, each one device's: its UUID. */
  private readonly uuidsByName = new Map<string, string>();
  private store: DeviceStore;

  /** Knows the devices `store` holds, and keeps the ones it comes to know there, up to `limits`. */
  constructor(
    store: DeviceStore = new MemoryDeviceStore(),
    private readonly limits: DeviceLimits = { maxDevices: DEFAULT_SITE_LIMITS.maxDevices, maxDevicesPerSource: DEFAULT_SITE_LIMITS.maxDevicesPerSource },
  ) {
    this.store = store;
    this.load();
  }

  /** A new device from `source` is within the site's bounds, or a 403 that says which bound. */
  private admit(source: string): void {
    if (this.byUuid.size >= this.limits.maxDevices) {
      throw new SiteError(403, 'X-Device-UUID', `this site knows its maximum of ${this.limits.maxDevices} devices (--max-devices)`);
    }
    const fromSource = this.perSource.get(source) ?? 0;
    if (fromSource >= this.limits.maxDevicesPerSource) {
      throw new SiteError(403, 'X-Device-UUID', `${source} has enrolled its maximum of ${this.limits.maxDevicesPerSource} devices (--max-devices-per-source)`);
    }
    this.perSource.set(source, fromSource + 1);
  }

  /** Takes its devices from `store` (a site's status database reopened after a restart) and writes there from now on. */
  attach(store: DeviceStore): void {
    this.store = store;
    this.load();
  }

  private load(): void {
    this.byUuid.clear();
    this.uuidsByName.clear();
    for (const device of this.store.knownDevices()) {
      this.byUuid.set(device.uuid, device);
      this.nameDevice(device.name, device.uuid);
    }
  }

  /**
   * The device behind a poll, known from now on. A token is issued once per identity: a poll naming a device that
   * has used its token must present it (X-Device-Auth), or it is a 401 and learns nothing. A device that has not
   * used it yet (the answer may never have reached it) is given a new one in its place. A new UUID is taken while
   * the site's bounds allow (`limits`), counted against the source address it came from.
   */
  identify(uuid: string, identification: Identification, now: number, presented: { authToken: string | undefined; source: string }): KnownDevice {
    const existing = this.byUuid.get(uuid);
    const proven = existing !== undefined && existing.authToken === presented.authToken;
    if (existing?.confirmed === true && !proven) {
      throw new SiteError(401, 'X-Device-Auth', `device ${uuid} is known to this site: present its token, or delete the device to enrol it again`);
    }
    if (!existing) this.admit(presented.source);
    const device: KnownDevice = {
      uuid,
      name: existing?.name ?? this.uniqueName(identification.deviceName || uuid, uuid),
      platform: identification.platform,
      identification,
      authToken: proven ? existing.authToken : randomBytes(12).toString('hex'),
      firstPollAt: existing?.firstPollAt ?? now,
      lastPollAt: now,
      confirmed: proven,
    };
    this.byUuid.set(uuid, device);
    if (
      !existing ||
      device.authToken !== existing.authToken ||
      device.confirmed !== existing.confirmed ||
      existing.platform !== identification.platform ||
      existing.identification.deviceName !== identification.deviceName
    ) {
      this.store.saveDevice(device);
    }
    return device;
  }

  /**
   * Devices are reported by name, as ConfigMgr names its resources; a second device with a name already taken (two
   * handhelds both called `Pocket_PC`) is told apart by the start of its UUID.
   */
  private uniqueName(name: string, uuid: string): string {
    const unique = this.uuidsByName.has(name) ? `${name} (${uuid.slice(0, 8)})` : name;
    this.nameDevice(unique, uuid);
    return unique;
  }

  /** The first device known by a name keeps it: a lookup by name finds that one. */
  private nameDevice(name: string, uuid: string): void {
    if (!this.uuidsByName.has(name)) this.uuidsByName.set(name, uuid);
  }

  /** The device making a request other than a poll: it must be known and present the token it was given. */
  authenticate(uuid: string | undefined, authToken: string | undefined): KnownDevice {
    const device = uuid === undefined ? undefined : this.byUuid.get(uuid);
    if (!device) throw new SiteError(401, 'X-Device-UUID', `device ${uuid ?? '(none)'} has not polled this site`);
    if (device.authToken !== authToken) throw new SiteError(401, 'X-Device-Auth', `wrong token for device ${uuid}`);
    if (device.confirmed) return device;
    const confirmed = { ...device, confirmed: true };
    this.byUuid.set(device.uuid, confirmed);
    this.store.saveDevice(confirmed);
    return confirmed;
  }

  /** Deletes every device record, as an administrator deleting resources does: each is known again from its next poll. */
  forget(): void {
    this.byUuid.clear();
    this.uuidsByName.clear();
    this.perSource.clear();
    this.store.forgetDevices();
  }

  get(uuid: string): KnownDevice | undefined {
    return this.byUuid.get(uuid);
  }

  /** The device known by a name, if any: a lookup, as the report asks it for every device's platform. */
  named(name: string): KnownDevice | undefined {
    const uuid = this.uuidsByName.get(name);
    return uuid === undefined ? undefined : this.byUuid.get(uuid);
  }

  /**
   * Every known device, in name order: not the order they first polled in, which in a replay depends on which of the
   * requests of one simulated second reached the site first.
   */
  all(): KnownDevice[] {
    return [...this.byUuid.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Whether a device is known by this name (as status messages and collections name devices). */
  knowsName(name: string): boolean {
    return this.uuidsByName.has(name);
  }

  get size(): number {
    return this.byUuid.size;
  }
}
