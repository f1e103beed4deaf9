import type { Advertisement, RerunBehaviour } from '../domain/advertisement.js';
import { isMember } from '../domain/collection.js';
import { guidOf } from '../domain/guid.js';
import type { Package, PackageContent } from '../domain/package.js';
import { isDesktopPlatform } from '../domain/platform.js';
import { PROGRAM_FLAG_WINDOWS_CE, programFlags, type Program } from '../domain/program.js';
import { IN_PROGRESS_STATES, type MessageState } from '../domain/status-message.js';
import type { Catalog } from './catalog.js';
import type { DeviceRegistry, KnownDevice } from './device-registry.js';
import { SiteError } from './site-error.js';

/** Re-offers of a revision after failed downloads whose ids a restarted site still recognises (see recognise). */
const REMEMBERED_ATTEMPTS = 16;

/** What a device-management package id (a GUID) stands for: one revision of one advertisement. */
export interface AdvertisedRevision {
  advertisementId: string;
  revision: number;
}

/** What the site knows of a device's last state for an advertisement (status-store.ts), read by the rerun decision. */
export type LastStateOf = (advertisementId: string, deviceName: string) => MessageState | undefined;

/** A device that will not rerun a program: the site records Will Not Rerun for it, once per device and revision. */
export interface WillNotRerun {
  advertisementId: string;
  /** The device-management package id of the revision it will not run. */
  dmPackageId: string;
}

/** The last run a device was handed, per program (package and program name): ConfigMgr's execution history. */
interface LastRun {
  advertisementId: string;
  revision: number;
  /** The state the run ended in, once a rerun decision has read it (a later Will Not Rerun does not overwrite it). */
  state?: MessageState;
}

/**
 * Whether a device whose last run of a program ended in `state` runs a new version of it. A device that did not
 * finish running it (refused, expired, still in progress, no status) has not "run it": it gets the new version.
 */
export function reruns(rerun: RerunBehaviour, state: MessageState | undefined): boolean {
  if (state !== 'succeeded' && state !== 'failed') return true;
  switch (rerun) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'ifFailed':
      return state === 'failed';
    case 'ifSucceeded':
      return state === 'succeeded';
  }
}

/** Whether an advertisement's rerun setting allows a device to run it again after a failed attempt. */
export const rerunsAfterFailure = (ad: Advertisement) => ad.rerun === 'always' || ad.rerun === 'ifFailed';

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
  /** The GUID of each advertisement revision (and re-offer attempt) listed so far. */
  private readonly idsByName = new Map<string, string>();
  /** Per device and program: the last run the site handed it instructions for. */
  private readonly lastRuns = new Map<string, LastRun>();
  /** Per device and advertisement revision: rerun (true), or the id listed in its place (sticky: decided once). */
  private readonly decisions = new Map<string, true | string | null>();
  /** Per device and advertisement revision: how many times the site offered it again after a failed download. */
  private readonly attempts = new Map<string, number>();
  /** The policy version whose ids recognise() has registered. */
  private recognisedVersion = -1;

  constructor(
    private readonly catalog: Catalog,
    private readonly devices: DeviceRegistry,
  ) {}

  /**
   * The packages a device should have: none while software distribution is off. A device that already ran the
   * program of an advertisement (an earlier revision of it, or another advertisement of the same program) gets the
   * current revision only if the advertisement's rerun setting allows it, judged from its last state of that run
   * (`lastStateOf`); otherwise the site keeps listing the id it already handled (same advertisement), which the
   * device does not run again, and `willNotRerun` hears of it once per device and revision. Configuration packages
   * have no program and no rerun setting: a new version always evaluates again.
   */
  applicablePackages(device: KnownDevice, lastStateOf?: LastStateOf, willNotRerun?: (decision: WillNotRerun) => void): string[] {
    if (!this.catalog.settings.enableSoftwareDistribution) return [];
    const ids: string[] = [];
    for (const ad of this.catalog.advertisements.values()) {
      const revision = this.catalog.revisionOf(ad.id);
      if (revision === undefined || !this.isTargeted(ad, device)) continue;
      const id = this.listedId(device, ad, revision, lastStateOf, willNotRerun);
      if (id !== null) ids.push(id);
    }
    return ids;
  }

  private listedId(
    device: KnownDevice,
    ad: Advertisement,
    revision: number,
    lastStateOf: LastStateOf | undefined,
    willNotRerun: ((decision: WillNotRerun) => void) | undefined,
  ): string | null {
    const current = this.currentId(device.name, ad.id, revision);
    if (lastStateOf === undefined || ad.programName === undefined) return current;
    const key = `${device.name}\n${ad.id}\n${revision}`;
    const decided = this.decisions.get(key);
    if (decided !== undefined) return decided === true ? current : decided;
    const last = this.lastRuns.get(runKey(device.name, ad));
    if (last === undefined || (last.advertisementId === ad.id && last.revision === revision)) return current;
    const state = lastStateOf(last.advertisementId, device.name);
    if (state !== 'willNotRerun') last.state = state;
    // Still running the program for another advertisement: decided at a later poll, once that run has ended.
    if (last.advertisementId !== ad.id && state !== undefined && IN_PROGRESS_STATES.includes(state)) return null;
    if (reruns(ad.rerun, last.state)) {
      this.decisions.set(key, true);
      return current;
    }
    // The id it already handled, when that was this advertisement: the device keeps it and does not run it again.
    const kept = last.advertisementId === ad.id ? this.currentId(device.name, ad.id, last.revision) : null;
    this.decisions.set(key, kept);
    willNotRerun?.({ advertisementId: ad.id, dmPackageId: current });
    return kept;
  }

  /** The id of a revision for a device: a new one each time the site offers it again after a failed download. */
  private currentId(deviceName: string, advertisementId: string, revision: number): string {
    const attempt = this.attempts.get(`${deviceName}\n${advertisementId}\n${revision}`) ?? 0;
    return this.dmPackageId(advertisementId, revision, attempt);
  }

  private dmPackageId(advertisementId: string, revision: number, attempt = 0): string {
    const name = attempt === 0 ? `${advertisementId}/${revision}` : `${advertisementId}/${revision}/attempt ${attempt}`;
    // Every poll lists its packages: a map lookup, not a SHA-1 per advertisement per poll.
    let id = this.idsByName.get(name);
    if (id === undefined) {
      id = guidOf(name);
      this.idsByName.set(name, id);
      this.dmPackages.set(id, { advertisementId, revision });
    }
    return id;
  }

  /**
   * A device gave up downloading a package (its one-shot download task used its retries): when the advertisement
   * reruns after a failure and the package is still the device's current attempt at the current revision, the site
   * lists it again under a new id from the next poll, and answers true (the device is Retrying). A message about an
   * older attempt, or one delivered again, changes nothing.
   */
  retryFailedDownload(device: KnownDevice, dmPackageId: string): boolean {
    const advertised = this.advertisedRevision(dmPackageId);
    const ad = advertised && this.catalog.advertisements.get(advertised.advertisementId);
    if (!advertised || !ad || !rerunsAfterFailure(ad) || this.catalog.revisionOf(ad.id) !== advertised.revision) return false;
    if (this.currentId(device.name, ad.id, advertised.revision) !== dmPackageId) return false;
    const key = `${device.name}\n${ad.id}\n${advertised.revision}`;
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    return true;
  }

  /** What a device-management package id stands for, if the site ever listed it. */
  advertisedRevision(dmPackageId: string): AdvertisedRevision | undefined {
    return this.dmPackages.get(dmPackageId) ?? this.recognise(dmPackageId);
  }

  /**
   * An id this process has not listed may still be the site's: listed before a restart (ids are names hashed, the
   * same in every process). Every id of every revision of the current advertisements, and of their first
   * REMEMBERED_ATTEMPTS re-offers, is registered once per policy version, so an unknown id costs a lookup.
   */
  private recognise(dmPackageId: string): AdvertisedRevision | undefined {
    if (this.recognisedVersion === this.catalog.policyVersion) return undefined;
    this.recognisedVersion = this.catalog.policyVersion;
    for (const ad of this.catalog.advertisements.values()) {
      for (let revision = 1; revision <= (this.catalog.revisionOf(ad.id) ?? 0); revision++) {
        for (let attempt = 0; attempt < REMEMBERED_ATTEMPTS; attempt++) this.dmPackageId(ad.id, revision, attempt);
      }
    }
    return this.dmPackages.get(dmPackageId);
  }

  /**
   * The advertisement behind a device-management package id the site listed (any revision) whose advertisement
   * targets the device: what status from this device may be about. Undefined for another device's package or none.
   */
  listedTo(device: KnownDevice, dmPackageId: string): Advertisement | undefined {
    const advertised = this.advertisedRevision(dmPackageId);
    const ad = advertised && this.catalog.advertisements.get(advertised.advertisementId);
    return ad && this.isTargeted(ad, device) ? ad : undefined;
  }

  /** The current revision of an advertisement that targets the device, from its device-management package id. */
  offerTo(device: KnownDevice, dmPackageId: string): OfferedPackage {
    const advertised = this.advertisedRevision(dmPackageId);
    const ad = advertised && this.catalog.advertisements.get(advertised.advertisementId);
    if (!advertised || !ad || !this.isTargeted(ad, device)) {
      throw new SiteError(404, 'Package/ID', `package ${dmPackageId} does not apply to device ${device.name}`);
    }
    if (this.catalog.revisionOf(ad.id) !== advertised.revision)
      throw new SiteError(404, 'Package/ID', `package ${dmPackageId} was replaced by a newer revision`);
    const pkg = this.catalog.packages.get(ad.packageId);
    const content = this.catalog.currentContentOf(ad.packageId);
    if (!pkg || !content) throw new SiteError(404, 'Package/ID', `package ${ad.packageId} has no content`);
    if (ad.programName !== undefined) this.lastRuns.set(runKey(device.name, ad), { advertisementId: ad.id, revision: advertised.revision });
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

/** A device's execution history is per program: its package and name. */
const runKey = (deviceName: string, ad: Advertisement) => `${deviceName}\n${ad.packageId}\n${ad.programName ?? ''}`;
