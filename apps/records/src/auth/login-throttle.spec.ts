import { addressScope } from './login-throttle';

describe('addressScope: the address a failed sign-in counts against', () => {
  it('keeps an IPv4 address, also when written IPv4-mapped (never grouped by /64)', () => {
    expect(addressScope('192.0.2.7')).toBe('192.0.2.7');
    expect(addressScope('::ffff:192.0.2.7')).toBe('::ffff:192.0.2.7');
    expect(addressScope('::FFFF:192.0.2.7')).toBe('::ffff:192.0.2.7');
    expect(addressScope('::ffff:192.0.2.8')).not.toBe(addressScope('::ffff:192.0.2.7'));
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const one = addressScope('2001:db8:1:2:3:4:5:6');
    expect(one).toBe('2001:db8:1:2::/64');
    for (const same of [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2::',
      '2001:db8:1:2::1%eth0',
      '2001:db8:1:2::192.0.2.1',
    ])
      expect(addressScope(same)).toBe(one);
    expect(addressScope('2001:db8:1:3::1')).not.toBe(one);
    expect(addressScope('::1')).toBe('0:0:0:0::/64');
    expect(addressScope('fe80::1')).toBe('fe80:0:0:0::/64');
  });

  it('leaves anything else as it is', () => {
    expect(addressScope('unknown')).toBe('unknown');
  });
});
