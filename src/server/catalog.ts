import type { Advertisement } from '../domain/advertisement.js';
import { toClientSettings, type SiteClientSettings } from '../domain/client-settings.js';
import type { Collection } from '../domain/collection.js';
import type { ConfigurationItem } from '../domain/configuration-item.js';
import type { Package, PackageContent } from '../domain/package.js';
import type { Program } from '../domain/program.js';
import type { SiteDefinition } from '../domain/site.js';
import { buildConfigurationContent, buildPackageContent } from './content-library.js';
import { SiteError } from './site-error.js';

const programKey = (packageId: string, name: string) => `${packageId}/${name}`;

/**
 * The site's objects as an administrator created them (packages, programs, configuration items, collections,
 * advertisements), the content built from them, and the versions that tell what changed. Read through read-only
 * views; changed only through the methods below, which check what the admin API checks.
 */
export class Catalog {
  private readonly packageMap = new Map<string, Package>();
  private readonly programMap = new Map<string, Program>();
  private readonly itemMap = new Map<string, ConfigurationItem>();
  private readonly collectionMap = new Map<string, Collection>();
  private readonly advertisementMap = new Map<string, Advertisement>();
  private readonly content = new Map<string, PackageContent>();
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

  /** Builds a catalog from a site definition, creating each object as the admin API would (same checks). */
  static async fromDefinition(site: SiteDefinition, contentRoot: string, now: () => number = Date.now): Promise<Catalog> {
    const store = new Catalog(toClientSettings(site.clientSettings, '127.0.0.1'), contentRoot, now);
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
    await addAll('configurationItems', site.configurationItems, (item) => {
      store.addConfigurationItem(item);
    });
    await addAll('packages', site.packages, (pkg) => store.addPackage(pkg));
    await addAll('programs', site.programs, (program) => {
      store.addProgram(program);
    });
    await addAll('collections', site.collections, (collection) => {
      store.addCollection(collection);
    });
    await addAll('advertisements', site.advertisements, (ad) => {
      store.addAdvertisement(ad);
    });
    return store;
  }

  get policyVersion(): number {
    return this.version;
  }

  get packages(): ReadonlyMap<string, Package> {
    return this.packageMap;
  }

  get programs(): Iterable<Program> {
    return this.programMap.values();
  }

  get configurationItems(): ReadonlyMap<string, ConfigurationItem> {
    return this.itemMap;
  }

  get collections(): ReadonlyMap<string, Collection> {
    return this.collectionMap;
  }

  get advertisements(): ReadonlyMap<string, Advertisement> {
    return this.advertisementMap;
  }

  /** The program an advertisement runs, if it names one. */
  programOf(ad: Advertisement): Program | undefined {
    return ad.programName === undefined ? undefined : this.programMap.get(programKey(ad.packageId, ad.programName));
  }

  /** The configuration items of a configuration package, in its order. */
  configurationItemsOf(pkg: Package): ConfigurationItem[] {
    if (pkg.type !== 'configuration') return [];
    return pkg.configurationItems.flatMap((id) => this.itemMap.get(id) ?? []);
  }

  /** The current revision of an advertisement: it moves when the advertisement, its package or its program does. */
  revisionOf(advertisementId: string): number | undefined {
    return this.revisions.get(advertisementId);
  }

  /** The content of a package at a version, if the distribution point has it. */
  contentOf(packageId: string, version: number): PackageContent | undefined {
    const content = this.content.get(packageId);
    return content?.version === version ? content : undefined;
  }

  /** The content of a package's current version. */
  currentContentOf(packageId: string): PackageContent | undefined {
    return this.content.get(packageId);
  }

  async addPackage(pkg: Package): Promise<void> {
    if (this.packageMap.has(pkg.id)) throw new SiteError(409, 'id', `package ${pkg.id} already exists`);
    await this.storePackage(pkg);
  }

  /** Replaces a package's definition and content; its version goes up and every advertisement of it runs again. */
  async replacePackage(pkg: Package): Promise<Package> {
    const current = this.packageMap.get(pkg.id);
    if (!current) throw new SiteError(404, 'id', `package ${pkg.id} does not exist`);
    if (current.type !== pkg.type) throw new SiteError(400, 'type', `package ${pkg.id} is a ${current.type} package`);
    const replaced = { ...pkg, version: Math.max(pkg.version, current.version + 1) };
    await this.storePackage(replaced);
    return replaced;
  }

  private async storePackage(pkg: Package): Promise<void> {
    if (pkg.type === 'configuration') {
      const items = pkg.configurationItems.map((id, index) => {
        const item = this.itemMap.get(id);
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
    this.packageMap.set(pkg.id, pkg);
    this.changed(pkg.id);
  }

  addProgram(program: Program): void {
    const pkg = this.packageMap.get(program.packageId);
    if (!pkg) throw new SiteError(404, 'packageId', `package ${program.packageId} does not exist`);
    if (pkg.type !== 'software') throw new SiteError(400, 'packageId', `package ${pkg.id} is a configuration package and has no programs`);
    const key = programKey(program.packageId, program.name);
    if (this.programMap.has(key)) throw new SiteError(409, 'name', `program "${program.name}" already exists in package ${pkg.id}`);
    this.programMap.set(key, program);
    this.changed(pkg.id);
  }

  addConfigurationItem(item: ConfigurationItem): void {
    if (this.itemMap.has(item.id)) throw new SiteError(409, 'id', `configuration item ${item.id} already exists`);
    this.itemMap.set(item.id, item);
    this.changed();
  }

  /** Replaces a configuration item; every configuration package holding it gets new content and evaluates again. */
  async replaceConfigurationItem(item: ConfigurationItem): Promise<void> {
    if (!this.itemMap.has(item.id)) throw new SiteError(404, 'id', `configuration item ${item.id} does not exist`);
    this.itemMap.set(item.id, item);
    this.changed();
    for (const pkg of this.packageMap.values()) {
      if (pkg.type === 'configuration' && pkg.configurationItems.includes(item.id)) await this.storePackage({ ...pkg, version: pkg.version + 1 });
    }
  }

  addCollection(collection: Collection): void {
    if (this.collectionMap.has(collection.id)) throw new SiteError(409, 'id', `collection ${collection.id} already exists`);
    this.collectionMap.set(collection.id, collection);
    this.changed();
  }

  /** Adds devices to a collection by id (a direct membership rule); they get its advertisements at their next poll. */
  addCollectionMembers(collectionId: string, deviceIds: string[]): Collection {
    const collection = this.collectionMap.get(collectionId);
    if (!collection) throw new SiteError(404, 'collectionId', `collection ${collectionId} does not exist`);
    const updated = { ...collection, members: [...new Set([...collection.members, ...deviceIds])] };
    this.collectionMap.set(collectionId, updated);
    this.changed();
    return updated;
  }

  /**
   * Changes an advertisement's schedule or assignment (e.g. expires it now). Its revision stays: devices that
   * finished it are not asked to run it again; the others see the change when they next handle it.
   */
  updateAdvertisement(id: string, change: Pick<Partial<Advertisement>, 'availableAt' | 'expiresAt' | 'mandatory'>): Advertisement {
    const ad = this.advertisementMap.get(id);
    if (!ad) throw new SiteError(404, 'id', `advertisement ${id} does not exist`);
    const updated = { ...ad, ...change };
    if (updated.expiresAt !== undefined && Date.parse(updated.expiresAt) <= Date.parse(updated.availableAt)) {
      throw new SiteError(400, 'expiresAt', 'must be after availableAt');
    }
    this.advertisementMap.set(id, updated);
    this.changed();
    return updated;
  }

  addAdvertisement(ad: Advertisement): void {
    if (this.advertisementMap.has(ad.id)) throw new SiteError(409, 'id', `advertisement ${ad.id} already exists`);
    if (!this.collectionMap.has(ad.collectionId)) throw new SiteError(404, 'collectionId', `collection ${ad.collectionId} does not exist`);
    const pkg = this.packageMap.get(ad.packageId);
    if (!pkg) throw new SiteError(404, 'packageId', `package ${ad.packageId} does not exist`);
    if (pkg.type === 'software') {
      if (ad.programName === undefined) throw new SiteError(400, 'programName', `package ${pkg.id} is a software package: name the program to run`);
      if (!this.programMap.has(programKey(pkg.id, ad.programName))) {
        throw new SiteError(404, 'programName', `program "${ad.programName}" does not exist in package ${pkg.id}`);
      }
    } else if (ad.programName !== undefined) {
      throw new SiteError(400, 'programName', `package ${pkg.id} is a configuration package and has no programs`);
    }
    this.advertisementMap.set(ad.id, ad);
    this.createdAt.set(ad.id, this.now());
    this.changed();
    this.revisions.set(ad.id, this.version);
  }

  /** From when devices could act on an advertisement: its creation or its available time, whichever is later. */
  availableSince(advertisementId: string): number {
    const ad = this.advertisementMap.get(advertisementId);
    if (!ad) throw new SiteError(404, 'advertisementId', `advertisement ${advertisementId} does not exist`);
    return Math.max(this.createdAt.get(advertisementId) ?? 0, Date.parse(ad.availableAt));
  }

  /** Any change moves the policy version; a change to a package also moves its advertisements' revisions. */
  private changed(packageId?: string): void {
    this.version++;
    if (packageId === undefined) return;
    for (const ad of this.advertisementMap.values()) if (ad.packageId === packageId) this.revisions.set(ad.id, this.version);
  }
}
