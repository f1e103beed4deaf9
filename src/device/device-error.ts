/**
 * Why something a package asked of the device could not be done. `reason` goes out as the status message's
 * `Reason` parameter, `message` as its `Detail`: both name what happened (a path, a volume, a line).
 */
export const DEVICE_FAILURE = {
  fileNotFound: 'FileNotFound',
  volumeFull: 'VolumeFull',
  pathInvalid: 'PathInvalid',
  accessDenied: 'AccessDenied',
  registryImportFailed: 'RegistryImportFailed',
  badCabinet: 'BadCabinet',
  scriptError: 'ScriptError',
  scriptAborted: 'ScriptAborted',
  programFailed: 'ExitCode',
} as const;

export type DeviceFailure = (typeof DEVICE_FAILURE)[keyof typeof DEVICE_FAILURE];

export class DeviceError extends Error {
  constructor(
    readonly reason: DeviceFailure,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}
