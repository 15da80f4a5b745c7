import { callbackCountries, checkCallbackNumber, countryName, countryOfNumber, unknownCallbackCountries } from './callback-policy';

describe('which numbers a callback may dial', () => {
  const GB_US = new Set(['GB', 'US']);

  it('an ordinary number of an allowed country: its country', () => {
    expect(checkCallbackNumber('+442079460123', GB_US)).toEqual({ ok: true, number: '+442079460123', country: 'GB' });
    expect(checkCallbackNumber('+447400123456', GB_US)).toEqual({ ok: true, number: '+447400123456', country: 'GB' });
    expect(checkCallbackNumber('+12125550123', GB_US)).toEqual({ ok: true, number: '+12125550123', country: 'US' });
  });

  it('a number of another country (NANP included: Jamaica shares +1), or of no country, is refused', () => {
    expect(checkCallbackNumber('+33123456789', GB_US)).toEqual({ ok: false, refusal: 'country', country: 'FR' });
    expect(checkCallbackNumber('+18762345678', GB_US)).toEqual({ ok: false, refusal: 'country', country: 'JM' });
    expect(checkCallbackNumber('+4915123456789', new Set(['GB']))).toMatchObject({ ok: false, refusal: 'country' });
    expect(checkCallbackNumber('+33123456789', new Set(['FR']))).toMatchObject({ ok: true, country: 'FR' });
  });

  it.each([
    ['+19005551234', 'NANP 900'],
    ['+19765551234', 'NANP 976'],
    ['+12129765555', 'NANP 976 exchange'],
    ['+449012345678', 'UK 09x'],
    ['+448712345678', 'UK 087x'],
    ['+448432345678', 'UK 084x'],
    ['+447012345678', 'UK 070'],
    ['+881612345678', 'satellite +881'],
    ['+88216123456', '+882'],
    ['+883123456789', '+883'],
    ['+979123456789', 'international premium +979'],
    ['+33899123456', 'French premium (by its type)'],
  ])('%s (%s) is refused as premium or special, whatever the countries allowed', (n) => {
    expect(checkCallbackNumber(n, new Set(['GB', 'US', 'FR']))).toMatchObject({ ok: false, refusal: 'premium' });
  });

  it('withheld caller IDs and what is no number are refused', () => {
    for (const w of ['anonymous', '+266696687', 'restricted', '', undefined, null])
      expect(checkCallbackNumber(w, GB_US)).toEqual({ ok: false, refusal: 'withheld', country: null });
    expect(checkCallbackNumber('+4412', GB_US)).toMatchObject({ ok: false });
    expect(checkCallbackNumber('+11234567890', GB_US)).toMatchObject({ ok: false, refusal: 'invalid' });
  });

  it('fictional ranges (NANP 555, Ofcom drama numbers) are numbers of their main country, which ring nobody', () => {
    expect(checkCallbackNumber('+15555550134', GB_US)).toEqual({ ok: true, number: '+15555550134', country: 'US' });
    expect(checkCallbackNumber('+15557654321', GB_US)).toMatchObject({ ok: true, country: 'US' });
    expect(checkCallbackNumber('+447700900123', GB_US)).toMatchObject({ ok: true, country: 'GB' });
    expect(checkCallbackNumber('+447700900123', new Set(['US']))).toEqual({ ok: false, refusal: 'country', country: 'GB' });
    expect(countryOfNumber('+15550000000')).toBe('US');
  });

  it('CALLBACK_COUNTRIES, or else the hotline number’s country', () => {
    expect([...callbackCountries({ CALLBACK_COUNTRIES: 'gb, IE' }, '+15550000000')]).toEqual(['GB', 'IE']);
    expect([...callbackCountries({}, '+442079460000')]).toEqual(['GB']);
    expect([...callbackCountries({}, '+15550000000')]).toEqual(['US']);
    expect([...callbackCountries({ CALLBACK_COUNTRIES: ' ' }, null)]).toEqual([]);
    expect(unknownCallbackCountries(new Set(['GB', 'QQ']))).toEqual(['QQ']);
    expect(countryName('GB')).toBe('United Kingdom');
    expect(countryName(null)).toBeNull();
  });
});
