export * from './envelope';
export * from './contact-seal';
export * from './contact-keys';
export * from './pseudonym';
export * from './data-key-store';
export * from './keystore.service';
export * from './content-cipher.service';
export * from './crypto.module';
