import { describe, expect, it } from 'vitest';
import { pickLanguage } from './languages.ts';

describe('pickLanguage', () => {
  it('keeps the language the user chose', () => {
    expect(pickLanguage('en', ['fr-FR'])).toBe('en');
  });

  it('matches the OS languages by their base language', () => {
    expect(pickLanguage(null, ['en-GB', 'fr'])).toBe('en');
    expect(pickLanguage(null, ['EN-us'])).toBe('en');
  });

  it('falls back to English for languages it does not speak yet', () => {
    expect(pickLanguage('xx', ['fr-FR', 'de'])).toBe('en');
    expect(pickLanguage(null, [])).toBe('en');
  });
});
