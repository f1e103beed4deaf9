/**
 * What a handheld holds of its own: its file and registry changes over its platform's base image. Plain,
 * serializable data that lives in the device statechart's context and in what a device remembers across a
 * simulator restart; a device that changed nothing holds the one frozen PRISTINE record, so an idle fleet pays
 * nothing for it.
 */
import type { DeviceProfile } from '../agent/device-profile.js';
import { baseImageOf } from './base-images.js';
import { FileSystem, type FileChanges, type Volume } from './file-system.js';
import { Registry, type RegistryChanges } from './registry.js';

export interface DeviceState {
  files: FileChanges;
  registry: RegistryChanges;
}

export const PRISTINE: DeviceState = Object.freeze({ files: Object.freeze({}), registry: Object.freeze({}) });

/** Flash the OS image lives on: its size and what the image takes, the same on every handheld. */
const FLASH = { name: 'Flash', mount: '\\Flash', sizeBytes: 64 * 1024 * 1024, baseUsedBytes: 32 * 1024 * 1024 } as const;
export const STORAGE_CARD_MOUNT = '\\Storage Card';

/** The device's volumes: the object store sized so its free space is the profile's, its card, and flash. */
export function volumesOf(profile: Pick<DeviceProfile, 'platform' | 'freeStorageBytes' | 'storageCard'>): Volume[] {
  const imageBytes = baseImageOf(profile.platform).bytes;
  const volumes: Volume[] = [{ name: 'Object Store', mount: '\\', sizeBytes: imageBytes + profile.freeStorageBytes, baseUsedBytes: imageBytes }];
  if (profile.storageCard.sizeBytes > 0) {
    volumes.push({ name: 'Storage Card', mount: STORAGE_CARD_MOUNT, sizeBytes: profile.storageCard.sizeBytes, baseUsedBytes: profile.storageCard.usedBytes });
  }
  volumes.push(FLASH);
  return volumes;
}

/** A working copy of the device's file system and registry, for one run at `now`. */
export interface DeviceSession {
  files: FileSystem;
  registry: Registry;
}

export function openDevice(profile: Pick<DeviceProfile, 'platform' | 'freeStorageBytes' | 'storageCard'>, state: DeviceState, now: number): DeviceSession {
  const image = baseImageOf(profile.platform);
  return { files: new FileSystem(image.files, state.files, volumesOf(profile), now), registry: new Registry(image.registry, state.registry) };
}

/** The state a session leaves; PRISTINE again when nothing differs from the base image. */
export function stateOf(session: DeviceSession): DeviceState {
  const files = session.files.changesMade();
  const registry = session.registry.changesMade();
  return Object.keys(files).length === 0 && Object.keys(registry).length === 0 ? PRISTINE : { files, registry };
}

/** Free bytes on the volume a path is on (the object store's, for a path no volume takes). */
export function freeBytesAt(profile: Pick<DeviceProfile, 'platform' | 'freeStorageBytes' | 'storageCard'>, state: DeviceState, path: string): number {
  const { files } = openDevice(profile, state, 0);
  try {
    return files.freeBytes(files.volumeOf(path));
  } catch {
    const objectStore = files.volumes[0];
    return objectStore ? files.freeBytes(objectStore) : 0;
  }
}
