/**
 * `@hotline/crypto/pseudonym`: callers' keyed pseudonyms, an entry point of their own so that
 * importing them (the gateway does) never pulls in the keystore or the content cipher.
 */
export * from './pseudonym';
export * from './pseudonym.service';
export * from './pseudonym.module';
