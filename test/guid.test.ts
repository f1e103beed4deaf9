// Ids derived from names (src/domain/guid.ts) name the same devices and packages in every run and every version:
// a site restarted on an old database, or a replay compared with an earlier one, depends on them not moving.
import { expect } from 'chai';
import { guidOf } from '../src/domain/guid.js';

describe('guidOf', () => {
  it('gives the GUIDs earlier versions gave: the first 16 bytes of the name’s SHA-1, upper-case, GUID-shaped', () => {
    expect(guidOf('device/WM-0001')).to.equal('6A6D6B06-0507-A9F2-DDB1-3B4881E5A573');
    expect(guidOf('')).to.equal('DA39A3EE-5E6B-4B0D-3255-BFEF95601890');
    expect(guidOf('MLC20001/2')).to.match(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  });
});
