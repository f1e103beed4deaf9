import { z } from 'zod';

/** Mobile platforms the Mobile Device Legacy Client ran on (ConfigMgr 2007 and 2012 legacy client). */
export const MOBILE_PLATFORMS = [
  'Pocket PC 2003',
  'Windows Mobile 5.0',
  'Windows Mobile 6.0',
  'Windows Mobile 6.1',
  'Windows Mobile 6.5',
  'Windows CE 5.0',
  'Windows CE 6.0',
  'Windows CE 7.0',
] as const;

/**
 * Desktop platforms: desktop programs name them, and a fleet mix may hold desktop clients that poll the same site.
 * The site never offers them a Windows CE program or a configuration package, nor a handheld a desktop program.
 */
export const DESKTOP_PLATFORMS = ['Windows XP', 'Windows Vista', 'Windows 7'] as const;

export const mobilePlatformSchema = z.enum(MOBILE_PLATFORMS);
export const platformSchema = z.enum([...MOBILE_PLATFORMS, ...DESKTOP_PLATFORMS]);

export type MobilePlatform = z.infer<typeof mobilePlatformSchema>;
export type Platform = z.infer<typeof platformSchema>;

const DESKTOP = new Set<string>(DESKTOP_PLATFORMS);

/**
 * Whether a platform, as a device names it (Identification/Platform), is a desktop one. A name mlc-sim does not
 * know is a handheld's: only device clients speak the Windows CE device-management protocol.
 */
export function isDesktopPlatform(platform: string): boolean {
  return DESKTOP.has(platform);
}
