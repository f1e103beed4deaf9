/**
 * What a device says about a package in `Status/StatusMessage@messageID`, and the `Parameter`s that say more.
 *
 * The documents define four ids: 11030 download starting, 11031 download succeeded, 11032 download failed and
 * 11035 execution succeeded. They name none for a failed execution, a refused package, a pending restart or a
 * package put off until its schedule or connection allows; mlc-sim uses 11033, 11034, 11036 and 11037 for those, in
 * and next to the gap the documents leave (a documented server accepts unknown ids).
 * The site turns these into ConfigMgr's advertisement status messages (see src/server/status-translation.ts).
 */
export const DEVICE_MESSAGE = {
  downloadStarting: 11030,
  downloadSucceeded: 11031,
  downloadFailed: 11032,
  executionFailed: 11033,
  packageRefused: 11034,
  executionSucceeded: 11035,
  restartPending: 11036,
  /** Sent once per package and reason: the device will handle it at a later poll. */
  packageDeferred: 11037,
} as const;

export type DeviceMessageKey = keyof typeof DEVICE_MESSAGE;

/** `Parameter` names mlc-sim sends. A documented server ignores them. */
export const PARAMETER = {
  /** `<boot>.<sequence>`: unique per device and message, so a message delivered twice is counted once. */
  sequence: 'Sequence',
  /** Why a package was refused, a download failed or an execution failed: one of REASON. */
  reason: 'Reason',
  /** Free text with the detail of a failure. */
  detail: 'Detail',
  exitCode: 'ExitCode',
  durationSeconds: 'DurationSeconds',
  packageSize: 'PackageSize',
  freeStorage: 'FreeStorage',
  maxRunTimeMinutes: 'MaxRunTimeMinutes',
  /** One per configuration item of a configuration package: `ConfigurationItem:<id>` = its compliance state. */
  configurationItemPrefix: 'ConfigurationItem:',
} as const;

export const REASON = {
  expired: 'AdvertisementExpired',
  platform: 'PlatformNotSupported',
  insufficientStorage: 'InsufficientStorage',
  noHttpSource: 'NoHttpSource',
  contentMismatch: 'ContentMismatch',
  downloadInterrupted: 'DownloadInterrupted',
  exitCode: 'ExitCode',
  maxRunTime: 'MaxRunTimeExceeded',
  badContent: 'BadContent',
  notYetStarted: 'NotYetStarted',
  connectionClass: 'ConnectionClass',
  /** The device stopped (the simulator was stopped or killed) while the program ran: it is not run again. */
  interrupted: 'InterruptedByDeviceRestart',
  /** A `.dms` script's `reboot` (restart pending, 11036); the script continues after the restart. */
  scriptReboot: 'ScriptReboot',
} as const;

/** One status message a device has recorded, as it goes on the wire; `parameters` holds the Sequence. */
export interface DeviceStatusMessage {
  packageId: string;
  messageId: number;
  time: number;
  parameters: Record<string, string>;
}
