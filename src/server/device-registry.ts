import { randomBytes } from 'node:crypto';
import type { Identification } from '../protocol/documents/device-poll.js';
import { SiteError } from './site-error.js';

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
  /** The names devices are known by: each is one device's. */
  private readonly names = new Set<string>();
  private store: DeviceStore;

  /** Knows the devices `store` holds, and keeps the ones it comes to know there. */
  constructor(store: DeviceStore = new MemoryDeviceStore()) {
    this.store = store;
    this.load();
  }

  /** Takes its devices from `store` (a site's status database reopened after a restart) and writes there from now on. */
  attach(store: DeviceStore): void {
    this.store = store;
    this.load();
  }

  private load(): void {
    this.byUuid.clear();
    this.names.clear();
    for (const device of this.store.knownDevices()) {
      this.byUuid.set(device.uuid, device);
      this.names.add(device.name);
    }
  }

  /** The device behind a poll, known from now on. */
  identify(uuid: string, identification: Identification, now: number): KnownDevice {
    const existing = this.byUuid.get(uuid);
    const device: KnownDevice = {
      uuid,
      name: existing?.name ?? this.uniqueName(identification.deviceName || uuid, uuid),
      platform: identification.platform,
      identification,
      authToken: existing?.authToken ?? randomBytes(12).toString('hex'),
      firstPollAt: existing?.firstPollAt ?? now,
      lastPollAt: now,
    };
    this.byUuid.set(uuid, device);
    if (!existing || existing.platform !== identification.platform || existing.identification.deviceName !== identification.deviceName) {
      this.store.saveDevice(device);
    }
    return device;
  }

  /**
   * Devices are reported by name, as ConfigMgr names its resources; a second device with a name already taken (two
   * handhelds both called `Pocket_PC`) is told apart by the start of its UUID.
   */
  private uniqueName(name: string, uuid: string): string {
    const unique = this.names.has(name) ? `${name} (${uuid.slice(0, 8)})` : name;
    this.names.add(unique);
    return unique;
  }

  /** The device making a request other than a poll: it must be known and present the token it was given. */
  authenticate(uuid: string | undefined, authToken: string | undefined): KnownDevice {
    const device = uuid === undefined ? undefined : this.byUuid.get(uuid);
    if (!device) throw new SiteError(401, 'X-Device-UUID', `device ${uuid ?? '(none)'} has not polled this site`);
    if (device.authToken !== authToken) throw new SiteError(401, 'X-Device-Auth', `wrong token for device ${uuid}`);
    return device;
  }

  /** Deletes every device record, as an administrator deleting resources does: each is known again from its next poll. */
  forget(): void {
    this.byUuid.clear();
    this.names.clear();
    this.store.forgetDevices();
  }

  get(uuid: string): KnownDevice | undefined {
    return this.byUuid.get(uuid);
  }

  /** The device known by a name, if any. */
  named(name: string): KnownDevice | undefined {
    for (const device of this.byUuid.values()) if (device.name === name) return device;
    return undefined;
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
    return this.names.has(name);
  }

  get size(): number {
    return this.byUuid.size;
  }
}
