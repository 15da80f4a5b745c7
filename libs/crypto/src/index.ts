export * from './envelope';
export * from './pseudonym';
export * from './data-key-store';
export * from './keystore.service';
export * from './content-cipher.service';
export * from './pseudonym.service';
export * from './crypto.module';
