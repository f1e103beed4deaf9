import { expect } from 'chai';
import { CONNECTION_FLAGS, connectionClassesOf, judgeOffer, type DeviceFacts, type OfferFacts, type Verdict } from '../src/domain/eligibility.js';
import { PROGRAM_FLAG_WINDOWS_CE } from '../src/domain/program.js';

const NOW = Date.parse('2009-06-01T08:00:00Z');
const HOUR = 3_600_000;
const { lowBandwidth: LOW, highBandwidth: HIGH, passThrough: DOCKED } = CONNECTION_FLAGS;

const OFFER: OfferFacts = {
  required: true,
  startTime: NOW - HOUR,
  expiresAt: null,
  flags: LOW | HIGH,
  packageSize: 1000,
  isConfiguration: false,
  program: { flags: PROGRAM_FLAG_WINDOWS_CE, platforms: ['Windows Mobile 6.5'] },
};
const DEVICE: DeviceFacts = { platform: 'Windows Mobile 6.5', connectionClasses: HIGH, freeStorageBytes: 10_000, runsOptionalPrograms: false };

describe('eligibility: what a handheld or desktop client does with an offer', () => {
  const table: [string, Partial<OfferFacts>, Partial<DeviceFacts>, Verdict][] = [
    ['a mandatory program for its platform, in time, that fits', {}, {}, { kind: 'proceed' }],
    ['an expired advertisement', { expiresAt: NOW }, {}, { kind: 'refuse', reason: 'AdvertisementExpired' }],
    ['expiry wins over a later start', { expiresAt: NOW - 1, startTime: NOW + HOUR }, {}, { kind: 'refuse', reason: 'AdvertisementExpired' }],
    ['not yet started', { startTime: NOW + 1 }, {}, { kind: 'defer', why: 'notYetStarted' }],
    ['no start time at all', { startTime: null }, {}, { kind: 'proceed' }],
    [
      'a program for another platform',
      { program: { flags: PROGRAM_FLAG_WINDOWS_CE, platforms: ['Windows CE 6.0'] } },
      {},
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    [
      'a desktop program that lists the platform',
      { program: { flags: 0, platforms: ['Windows XP', 'Windows Mobile 6.5'] } },
      {},
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    ['no program details (a documented server)', { program: null }, {}, { kind: 'proceed' }],
    ['optional, and the user does not run optional programs', { required: false }, {}, { kind: 'decline' }],
    ['optional, and the user runs them', { required: false }, { runsOptionalPrograms: true }, { kind: 'proceed' }],
    ['a configuration package is never declined', { required: false, isConfiguration: true, program: null }, {}, { kind: 'proceed' }],
    ['docked only, on a wireless device', { flags: DOCKED }, {}, { kind: 'defer', why: 'connection' }],
    ['docked only, on a docked device', { flags: DOCKED }, { connectionClasses: DOCKED | HIGH }, { kind: 'proceed' }],
    ['high bandwidth only, on a slow link', { flags: HIGH | DOCKED }, { connectionClasses: LOW }, { kind: 'defer', why: 'connection' }],
    ['larger than free storage', { packageSize: 10_001 }, {}, { kind: 'insufficientStorage' }],
    ['exactly the free storage', { packageSize: 10_000 }, {}, { kind: 'proceed' }],
    ['a configuration package is processed, not stored', { packageSize: 10_001, isConfiguration: true, program: null }, {}, { kind: 'proceed' }],
    ['wrong platform wins over storage', { packageSize: 10_001, program: { flags: 0, platforms: [] } }, {}, { kind: 'refuse', reason: 'PlatformNotSupported' }],
    // Desktop clients of the same site, offered what the site should not have offered them (an older site, another server).
    [
      'desktop: a Windows CE program, even one listing its platform',
      { program: { flags: PROGRAM_FLAG_WINDOWS_CE, platforms: ['Windows Mobile 6.5', 'Windows XP'] } },
      { platform: 'Windows XP' },
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    [
      'desktop: a desktop program for its platform',
      { program: { flags: 0, platforms: ['Windows XP', 'Windows Vista'] } },
      { platform: 'Windows XP' },
      { kind: 'proceed' },
    ],
    [
      'desktop: a desktop program for other desktop platforms',
      { program: { flags: 0, platforms: ['Windows XP', 'Windows Vista'] } },
      { platform: 'Windows 7' },
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    [
      'desktop: a configuration package',
      { required: false, isConfiguration: true, program: null },
      { platform: 'Windows Vista' },
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    [
      'desktop: no program details (a documented server serves device programs only)',
      { program: null },
      { platform: 'Windows 7' },
      { kind: 'refuse', reason: 'PlatformNotSupported' },
    ],
    [
      'desktop: expiry wins over the client type',
      { expiresAt: NOW, program: { flags: PROGRAM_FLAG_WINDOWS_CE, platforms: ['Windows Mobile 6.5'] } },
      { platform: 'Windows XP' },
      { kind: 'refuse', reason: 'AdvertisementExpired' },
    ],
    [
      'desktop: an optional desktop program its user does not run',
      { required: false, program: { flags: 0, platforms: ['Windows 7'] } },
      { platform: 'Windows 7' },
      { kind: 'decline' },
    ],
    [
      'desktop: a desktop program larger than free storage',
      { packageSize: 10_001, program: { flags: 0, platforms: ['Windows 7'] } },
      { platform: 'Windows 7' },
      { kind: 'insufficientStorage' },
    ],
    [
      'a platform mlc-sim does not know is a handheld: no program details',
      { program: null },
      { platform: 'Windows Embedded Handheld 6.5' },
      { kind: 'proceed' },
    ],
  ];
  for (const [name, offer, device, verdict] of table) {
    it(name, () => expect(judgeOffer({ ...OFFER, ...offer }, { ...DEVICE, ...device }, NOW)).to.deep.equal(verdict));
  }

  it('puts a link in its connection classes: fast above 60 KBps, docked devices fast as well as docked', () => {
    expect(connectionClassesOf({ kind: 'cellular', bandwidthKBps: 40 })).to.equal(LOW);
    expect(connectionClassesOf({ kind: 'wlan', bandwidthKBps: 60 })).to.equal(LOW);
    expect(connectionClassesOf({ kind: 'wlan', bandwidthKBps: 61 })).to.equal(HIGH);
    expect(connectionClassesOf({ kind: 'docked', bandwidthKBps: 1000 })).to.equal(HIGH | DOCKED);
  });
});
