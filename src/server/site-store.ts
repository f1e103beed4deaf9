import { randomBytes } from 'node:crypto';
import type { Advertisement } from '../domain/advertisement.js';
import { toClientSettings, type SiteClientSettings } from '../domain/client-settings.js';
import { isMember, type Collection } from '../domain/collection.js';
import type { ConfigurationItem } from '../domain/configuration-item.js';
import { guidOf } from '../domain/guid.js';
import type { Package, PackageContent } from '../domain/package.js';
import type { Program } from '../domain/program.js';
import type { SiteDefinition } from '../domain/site.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import { buildConfigurationContent, buildPackageContent } from './content-library.js';

/** A request the site cannot honour: the HTTP status, the field at fault, and why. */
export class SiteError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'SiteError';
  }
}

/** A device as the site knows it from its polls: `X-Device-UUID`, the token the site gave it, and its Identification. */
export interface KnownDevice {
  uuid: string;
  /** The device's resource name (`Identification/DeviceName`): collections, status and reports name it so. */
  name: string;
  platform: string;
  identification: Identification;
  authToken: string;
  firstPollAt: number;
  lastPollAt: number;
}

/** What a device-management package id (a GUID) stands for: one revision of one advertisement. */
export interface AdvertisedRevision {
  advertisementId: string;
  revision: number;
}

const programKey = (packageId: string, name: string) => `${packageId}/${name}`;

/**
 * Everything the stub site knows: its objects (as an administrator created them), the package content built from
 * them, the registered devices, and the policy version that tells a polling device whether anything changed.
 */
export class SiteStore {
  readonly packages = new Map<string, Package>();
  readonly programs = new Map<string, Program>();
  readonly configurationItems = new Map<string, ConfigurationItem>();
  readonly collections = new Map<string, Collection>();
  readonly advertisements = new Map<string, Advertisement>();
  /** Devices by X-Device-UUID. */
  readonly devices = new Map<string, KnownDevice>();
  /** The names devices are known by: each is one device's. */
  private readonly names = new Set<string>();
  private readonly content = new Map<string, PackageContent>();
  /** Every device-management package id the site has listed, for statuses that arrive after a change. */
  private readonly dmPackages = new Map<string, AdvertisedRevision>();
  /** Per advertisement: the policy version at which it, its package or its program last changed. */
  private readonly revisions = new Map<string, number>();
  private version = 1;

  /** When each advertisement was created, on the site's clock: rollouts are timed from here. */
  private readonly createdAt = new Map<string, number>();

  private constructor(
    readonly settings: SiteClientSettings,
    private readonly contentRoot: string,
    private readonly now: () => number,
  ) {}

  /** Builds a store from a site definition, creating each object as the admin API would (same checks). */
  static async fromDefinition(site: SiteDefinition, contentRoot: string, now: () => number = Date.now): Promise<SiteStore> {
    const store = new SiteStore(toClientSettings(site.clientSettings, '127.0.0.1'), contentRoot, now);
    /** Adds each object of a list, naming the list and index in any error, e.g. `advertisements.2.collectionId`. */
    const addAll = async <T>(list: string, objects: T[], add: (object: T) => void | Promise<void>) => {
      for (const [index, object] of objects.entries()) {
        try {
          await add(object);
        } catch (error) {
          const where = `${list}.${index}`;
          if (error instanceof SiteError) throw new SiteError(error.status, `${where}.${error.field}`, error.reason);
          throw new SiteError(400, where, (error as Error).message);
        }
      }
    };
    await addAll('configurationItems', site.configurationItems, (item) => store.addConfigurationItem(item));
    await addAll('packages', site.packages, (pkg) => store.addPackage(pkg));
    await addAll('programs', site.programs, (program) => store.addProgram(program));
    await addAll('collections', site.collections, (collection) => store.addCollection(collection));
    await addAll('advertisements', site.advertisements, (ad) => store.addAdvertisement(ad));
    return store;
  }

  get policyVersion(): number {
    return this.version;
  }

  // --- administration ------------------------------------------------------------------------------------------

  async addPackage(pkg: Package): Promise<void> {
    if (this.packages.has(pkg.id)) throw new SiteError(409, 'id', `package ${pkg.id} already exists`);
    await this.storePackage(pkg);
  }

  /** Replaces a package's definition and content; its version goes up and every advertisement of it runs again. */
  async replacePackage(pkg: Package): Promise<Package> {
    const current = this.packages.get(pkg.id);
    if (!current) throw new SiteError(404, 'id', `package ${pkg.id} does not exist`);
    if (current.type !== pkg.type) throw new SiteError(400, 'type', `package ${pkg.id} is a ${current.type} package`);
    const replaced = { ...pkg, version: Math.max(pkg.version, current.version + 1) };
    await this.storePackage(replaced);
    return replaced;
  }

  private async storePackage(pkg: Package): Promise<void> {
    if (pkg.type === 'configuration') {
      const items = pkg.configurationItems.map((id, index) => {
        const item = this.configurationItems.get(id);
        if (!item) throw new SiteError(400, `configurationItems.${index}`, `configuration item ${id} does not exist`);
        return item;
      });
      this.content.set(pkg.id, await buildConfigurationContent(pkg, items));
    } else {
      try {
        this.content.set(pkg.id, await buildPackageContent(pkg, this.contentRoot));
      } catch (error) {
        throw new SiteError(400, 'source', (error as Error).message);
      }
    }
    this.packages.set(pkg.id, pkg);
    this.changed(pkg.id);
  }

  addProgram(program: Program): void {
    const pkg = this.packages.get(program.packageId);
    if (!pkg) throw new SiteError(404, 'packageId', `package ${program.packageId} does not exist`);
    if (pkg.type !== 'software') throw new SiteError(400, 'packageId', `package ${pkg.id} is a configuration package and has no programs`);
    const key = programKey(program.packageId, program.name);
    if (this.programs.has(key)) throw new SiteError(409, 'name', `program "${program.name}" already exists in package ${pkg.id}`);
    this.programs.set(key, program);
    this.changed(pkg.id);
  }

  addConfigurationItem(item: ConfigurationItem): void {
    if (this.configurationItems.has(item.id)) throw new SiteError(409, 'id', `configuration item ${item.id} already exists`);
    this.configurationItems.set(item.id, item);
    this.changed();
  }

  /** Replaces a configuration item; every configuration package holding it gets new content and evaluates again. */
  async replaceConfigurationItem(item: ConfigurationItem): Promise<void> {
    if (!this.configurationItems.has(item.id)) throw new SiteError(404, 'id', `configuration item ${item.id} does not exist`);
    this.configurationItems.set(item.id, item);
    this.changed();
    for (const pkg of this.packages.values()) {
      if (pkg.type === 'configuration' && pkg.configurationItems.includes(item.id)) await this.storePackage({ ...pkg, version: pkg.version + 1 });
    }
  }

  addCollection(collection: Collection): void {
    if (this.collections.has(collection.id)) throw new SiteError(409, 'id', `collection ${collection.id} already exists`);
    this.collections.set(collection.id, collection);
    this.changed();
  }

  /** Adds devices to a collection by id (a direct membership rule); they get its advertisements at their next poll. */
  addCollectionMembers(collectionId: string, deviceIds: string[]): Collection {
    const collection = this.collections.get(collectionId);
    if (!collection) throw new SiteError(404, 'collectionId', `collection ${collectionId} does not exist`);
    const updated = { ...collection, members: [...new Set([...collection.members, ...deviceIds])] };
    this.collections.set(collectionId, updated);
    this.changed();
    return updated;
  }

  /**
   * Changes an advertisement's schedule or assignment (e.g. expires it now). Its revision stays: devices that
   * finished it are not asked to run it again; the others see the change when they next handle it.
   */
  updateAdvertisement(id: string, change: Pick<Partial<Advertisement>, 'availableAt' | 'expiresAt' | 'mandatory'>): Advertisement {
    const ad = this.advertisements.get(id);
    if (!ad) throw new SiteError(404, 'id', `advertisement ${id} does not exist`);
    const updated = { ...ad, ...change };
    if (updated.expiresAt !== undefined && Date.parse(updated.expiresAt) <= Date.parse(updated.availableAt)) {
      throw new SiteError(400, 'expiresAt', 'must be after availableAt');
    }
    this.advertisements.set(id, updated);
    this.changed();
    return updated;
  }

  addAdvertisement(ad: Advertisement): void {
    if (this.advertisements.has(ad.id)) throw new SiteError(409, 'id', `advertisement ${ad.id} already exists`);
    if (!this.collections.has(ad.collectionId)) throw new SiteError(404, 'collectionId', `collection ${ad.collectionId} does not exist`);
    const pkg = this.packages.get(ad.packageId);
    if (!pkg) throw new SiteError(404, 'packageId', `package ${ad.packageId} does not exist`);
    if (pkg.type === 'software') {
      if (ad.programName === undefined) throw new SiteError(400, 'programName', `package ${pkg.id} is a software package: name the program to run`);
      if (!this.programs.has(programKey(pkg.id, ad.programName))) {
        throw new SiteError(404, 'programName', `program "${ad.programName}" does not exist in package ${pkg.id}`);
      }
    } else if (ad.programName !== undefined) {
      throw new SiteError(400, 'programName', `package ${pkg.id} is a configuration package and has no programs`);
    }
    this.advertisements.set(ad.id, ad);
    this.createdAt.set(ad.id, this.now());
    this.changed();
    this.revisions.set(ad.id, this.version);
  }

  /** From when devices could act on an advertisement: its creation or its available time, whichever is later. */
  availableSince(advertisementId: string): number {
    const ad = this.advertisements.get(advertisementId);
    if (!ad) throw new SiteError(404, 'advertisementId', `advertisement ${advertisementId} does not exist`);
    return Math.max(this.createdAt.get(advertisementId)!, Date.parse(ad.availableAt));
  }

  /** Any change moves the policy version; a change to a package also moves its advertisements' revisions. */
  private changed(packageId?: string): void {
    this.version++;
    if (packageId === undefined) return;
    for (const ad of this.advertisements.values()) if (ad.packageId === packageId) this.revisions.set(ad.id, this.version);
  }

  // --- devices -------------------------------------------------------------------------------------------------

  /**
   * The device behind a poll. A device is known from its first poll (X-Device-UUID plus Identification) and
   * given a token in X-Device-Auth, which it echoes from then on.
   */
  identify(uuid: string, identification: Identification, now: number): KnownDevice {
    const existing = this.devices.get(uuid);
    const device: KnownDevice = {
      uuid,
      name: existing?.name ?? this.uniqueName(identification.deviceName || uuid, uuid),
      platform: identification.platform,
      identification,
      authToken: existing?.authToken ?? randomBytes(12).toString('hex'),
      firstPollAt: existing?.firstPollAt ?? now,
      lastPollAt: now,
    };
    this.devices.set(uuid, device);
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

  /** Deletes every device record, as an administrator deleting resources does: each is known again from its next poll. */
  forgetDevices(): void {
    this.devices.clear();
    this.names.clear();
  }

  /** The device making a request other than a poll: it must be known and present the token it was given. */
  authenticate(uuid: string | undefined, authToken: string | undefined): KnownDevice {
    const device = uuid === undefined ? undefined : this.devices.get(uuid);
    if (!device) throw new SiteError(401, 'X-Device-UUID', `device ${uuid ?? '(none)'} has not polled this site`);
    if (device.authToken !== authToken) throw new SiteError(401, 'X-Device-Auth', `wrong token for device ${uuid}`);
    return device;
  }

  // --- policy --------------------------------------------------------------------------------------------------

  /**
   * The device-management packages that apply to a device: one per advertisement whose collection holds it, with
   * an id (a GUID) that changes whenever the advertisement, its package or its program does, so a changed offer
   * reaches the device as a new package. Platform and timing are the client's to judge, as in ConfigMgr.
   */
  applicablePackages(device: KnownDevice): string[] {
    if (!this.settings.enableSoftwareDistribution) return [];
    const ids: string[] = [];
    for (const ad of this.advertisements.values()) if (this.isTargeted(ad, device)) ids.push(this.dmPackageId(ad.id));
    return ids;
  }

  private dmPackageId(advertisementId: string): string {
    const revision = this.revisions.get(advertisementId)!;
    const id = guidOf(`${advertisementId}/${revision}`);
    if (!this.dmPackages.has(id)) this.dmPackages.set(id, { advertisementId, revision });
    return id;
  }

  /** What a device-management package id stands for, if the site ever listed it. */
  advertisedRevision(dmPackageId: string): AdvertisedRevision | undefined {
    return this.dmPackages.get(dmPackageId);
  }

  /** The current revision of an advertisement that targets the device, from its device-management package id. */
  offerTo(device: KnownDevice, dmPackageId: string): { ad: Advertisement; revision: number; pkg: Package; program: Program | undefined; content: PackageContent } {
    const advertised = this.dmPackages.get(dmPackageId);
    const ad = advertised && this.advertisements.get(advertised.advertisementId);
    if (!advertised || !ad || !this.isTargeted(ad, device)) {
      throw new SiteError(404, 'Package/ID', `package ${dmPackageId} does not apply to device ${device.name}`);
    }
    if (this.revisions.get(ad.id) !== advertised.revision) throw new SiteError(404, 'Package/ID', `package ${dmPackageId} was replaced by a newer revision`);
    const pkg = this.packages.get(ad.packageId)!;
    const program = ad.programName === undefined ? undefined : this.programs.get(programKey(pkg.id, ad.programName));
    return { ad, revision: advertised.revision, pkg, program, content: this.content.get(pkg.id)! };
  }

  configurationItemsOf(pkg: Package): ConfigurationItem[] {
    return pkg.type === 'configuration' ? pkg.configurationItems.map((id) => this.configurationItems.get(id)!) : [];
  }

  /** The content of a package at a version, if the distribution point has it. */
  contentOf(packageId: string, version: number): PackageContent | undefined {
    const content = this.content.get(packageId);
    return content?.version === version ? content : undefined;
  }

  /** Known devices an advertisement targets, by name: the "targeted" count of the console. */
  targetedDevices(advertisementId: string): string[] {
    const ad = this.advertisements.get(advertisementId);
    if (!ad) throw new SiteError(404, 'advertisementId', `advertisement ${advertisementId} does not exist`);
    return [...this.devices.values()].filter((d) => this.isTargeted(ad, d)).map((d) => d.name);
  }

  private isTargeted(ad: Advertisement, device: KnownDevice): boolean {
    return isMember(this.collections.get(ad.collectionId)!, { id: device.name, platform: device.platform });
  }
}
