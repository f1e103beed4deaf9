import type { Advertisement } from '../domain/advertisement.js';
import { isMember } from '../domain/collection.js';
import { guidOf } from '../domain/guid.js';
import type { Package, PackageContent } from '../domain/package.js';
import { isDesktopPlatform } from '../domain/platform.js';
import { PROGRAM_FLAG_WINDOWS_CE, programFlags, type Program } from '../domain/program.js';
import type { Catalog } from './catalog.js';
import type { DeviceRegistry, KnownDevice } from './device-registry.js';
import { SiteError } from './site-error.js';

/** What a device-management package id (a GUID) stands for: one revision of one advertisement. */
export interface AdvertisedRevision {
  advertisementId: string;
  revision: number;
}

/** An advertisement as offered to a device: its revision, package, program and content. */
export interface OfferedPackage {
  ad: Advertisement;
  revision: number;
  pkg: Package;
  program: Program | undefined;
  content: PackageContent;
}

/**
 * Which packages apply to which device. The device-management "package" is an advertised program: one per
 * advertisement whose collection holds the device, with an id (a GUID) that changes whenever the advertisement, its
 * package or its program does, so a changed offer reaches the device as a new package. Only the client type is the
 * site's to judge (see isTargeted); platform and timing are the client's, as in ConfigMgr.
 */
export class Policy {
  /** Every device-management package id the site has listed, for statuses that arrive after a change. */
  private readonly dmPackages = new Map<string, AdvertisedRevision>();

  constructor(
    private readonly catalog: Catalog,
    private readonly devices: DeviceRegistry,
  ) {}

  /** The packages a device should have: none while software distribution is off. */
  applicablePackages(device: KnownDevice): string[] {
    if (!this.catalog.settings.enableSoftwareDistribution) return [];
    const ids: string[] = [];
    for (const ad of this.catalog.advertisements.values()) {
      const revision = this.catalog.revisionOf(ad.id);
      if (revision !== undefined && this.isTargeted(ad, device)) ids.push(this.dmPackageId(ad.id, revision));
    }
    return ids;
  }

  private dmPackageId(advertisementId: string, revision: number): string {
    const id = guidOf(`${advertisementId}/${revision}`);
    if (!this.dmPackages.has(id)) this.dmPackages.set(id, { advertisementId, revision });
    return id;
  }

  /** What a device-management package id stands for, if the site ever listed it. */
  advertisedRevision(dmPackageId: string): AdvertisedRevision | undefined {
    return this.dmPackages.get(dmPackageId);
  }

  /** The current revision of an advertisement that targets the device, from its device-management package id. */
  offerTo(device: KnownDevice, dmPackageId: string): OfferedPackage {
    const advertised = this.dmPackages.get(dmPackageId);
    const ad = advertised && this.catalog.advertisements.get(advertised.advertisementId);
    if (!advertised || !ad || !this.isTargeted(ad, device)) {
      throw new SiteError(404, 'Package/ID', `package ${dmPackageId} does not apply to device ${device.name}`);
    }
    if (this.catalog.revisionOf(ad.id) !== advertised.revision)
      throw new SiteError(404, 'Package/ID', `package ${dmPackageId} was replaced by a newer revision`);
    const pkg = this.catalog.packages.get(ad.packageId);
    const content = this.catalog.currentContentOf(ad.packageId);
    if (!pkg || !content) throw new SiteError(404, 'Package/ID', `package ${ad.packageId} has no content`);
    return { ad, revision: advertised.revision, pkg, program: this.catalog.programOf(ad), content };
  }

  /** Known devices an advertisement targets, by name: the "targeted" count of the console. */
  targetedDevices(advertisementId: string): string[] {
    const ad = this.catalog.advertisements.get(advertisementId);
    if (!ad) throw new SiteError(404, 'advertisementId', `advertisement ${advertisementId} does not exist`);
    return [...this.devices.all()].filter((d) => this.isTargeted(ad, d)).map((d) => d.name);
  }

  /**
   * Whether the site offers an advertisement to a device: the device is in its collection, and passes ConfigMgr's
   * client-type check. A Windows CE program (ProgramFlags WINDOWS_CE) or a configuration package is offered to device
   * clients only, and a desktop program to desktop clients only (a desktop platform in Identification/Platform).
   * A device the site will not offer an advertisement to is not targeted by it: applicablePackages, offerTo and
   * the console's "targeted" count (targetedDevices) all go through here, so they agree.
   */
  private isTargeted(ad: Advertisement, device: KnownDevice): boolean {
    const collection = this.catalog.collections.get(ad.collectionId);
    if (collection === undefined || !isMember(collection, { id: device.name, platform: device.platform })) return false;
    return this.forDesktopClients(ad) === isDesktopPlatform(device.platform);
  }

  /** Whether an advertisement is for desktop clients: a program without the WINDOWS_CE flag. */
  private forDesktopClients(ad: Advertisement): boolean {
    const program = this.catalog.programOf(ad);
    return program !== undefined && (programFlags(program) & PROGRAM_FLAG_WINDOWS_CE) === 0;
  }
}
