/**
 * Whether a device acts on a package it was offered, and how: the client's own rules, as a pure function of what
 * the instructions say and what the device is. The statechart asks once per offer and follows the verdict.
 */
import { DEVICE_FLAGS, HIGH_BANDWIDTH_KBPS } from './advertisement.js';
import { REASON } from './device-status.js';
import { isDesktopPlatform } from './platform.js';
import { PROGRAM_FLAG_WINDOWS_CE } from './program.js';

/** The connection classes of Instructions/Flags: a package may download over any class whose bit is set. */
export const CONNECTION_FLAGS = { lowBandwidth: 0x01, highBandwidth: 0x02, passThrough: 0x04 } as const;

/** ConfigMgr's device assignment flags as the connection classes a download may use. */
export const CONNECTION_CLASSES_OF_ASSIGNMENT: Record<keyof typeof DEVICE_FLAGS, number> = {
  always: CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth,
  highBandwidth: CONNECTION_FLAGS.highBandwidth | CONNECTION_FLAGS.passThrough,
  docked: CONNECTION_FLAGS.passThrough,
};

/** The connection classes a device's link belongs to: docked devices are also on a fast link. */
export function connectionClassesOf({ kind, bandwidthKBps }: { kind: 'docked' | 'wlan' | 'cellular'; bandwidthKBps: number }): number {
  const speed = bandwidthKBps > HIGH_BANDWIDTH_KBPS ? CONNECTION_FLAGS.highBandwidth : CONNECTION_FLAGS.lowBandwidth;
  return kind === 'docked' ? speed | CONNECTION_FLAGS.passThrough : speed;
}

/** What the instructions say about an offer. Fields our extension carries are null from another server. */
export interface OfferFacts {
  required: boolean;
  startTime: number | null;
  expiresAt: number | null;
  /** Connection classes allowed (Instructions/Flags). */
  flags: number;
  packageSize: number;
  isConfiguration: boolean;
  program: { flags: number; platforms: readonly string[] } | null;
}

/** What the device is. */
export interface DeviceFacts {
  platform: string;
  connectionClasses: number;
  freeStorageBytes: number;
  runsOptionalPrograms: boolean;
}

export type Verdict =
  /** Refused for good, with a status message saying why. */
  | { kind: 'refuse'; reason: typeof REASON.expired | typeof REASON.platform }
  /** Not now: handled again at the next poll, without a record. */
  | { kind: 'defer'; why: 'notYetStarted' | 'connection' }
  /** An optional offer its user does not take: done, without a record. */
  | { kind: 'decline' }
  /** The content does not fit: a failed download. */
  | { kind: 'insufficientStorage' }
  | { kind: 'proceed' };

/**
 * The verdict, the first rule that applies winning: expired, not yet started, wrong client type or platform (see
 * platformAllows), optional and not taken, connection class not allowed, larger than free storage. A configuration
 * package has no program and is never optional to the device; its provisioning documents are processed, not stored,
 * so storage does not limit it.
 */
export function judgeOffer(offer: OfferFacts, device: DeviceFacts, now: number): Verdict {
  if (offer.expiresAt !== null && now >= offer.expiresAt) return { kind: 'refuse', reason: REASON.expired };
  if (offer.startTime !== null && now < offer.startTime) return { kind: 'defer', why: 'notYetStarted' };
  if (!platformAllows(offer, device.platform)) return { kind: 'refuse', reason: REASON.platform };
  if (!offer.required && !offer.isConfiguration && !device.runsOptionalPrograms) return { kind: 'decline' };
  if ((offer.flags & device.connectionClasses) === 0) return { kind: 'defer', why: 'connection' };
  if (!offer.isConfiguration && offer.packageSize > device.freeStorageBytes) return { kind: 'insufficientStorage' };
  return { kind: 'proceed' };
}

/**
 * Whether the program suits the device's client type and platform. A handheld runs only Windows CE programs (the
 * WINDOWS_CE flag) for its platform; with no program details (a documented server) it runs what it is given. A
 * desktop client runs only desktop programs (no WINDOWS_CE flag) for its platform: never a configuration package
 * (device settings are mobile only), and never a package without program details, since a documented server
 * serves device programs only.
 */
function platformAllows(offer: OfferFacts, platform: string): boolean {
  const program = offer.program;
  const windowsCe = program !== null && (program.flags & PROGRAM_FLAG_WINDOWS_CE) !== 0;
  if (isDesktopPlatform(platform)) return !offer.isConfiguration && program !== null && !windowsCe && program.platforms.includes(platform);
  return program === null || (windowsCe && program.platforms.includes(platform));
}
