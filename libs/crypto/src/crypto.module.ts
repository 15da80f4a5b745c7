import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ENV, Env } from '@hotline/config';
import { KEYSTORE } from '@hotline/persistence';
import { ContactKeys } from './contact-keys';
import { ContentCipher } from './content-cipher.service';
import { DataKeyStore } from './data-key-store';
import { KeystoreService } from './keystore.service';
import { PseudonymService } from './pseudonym/pseudonym.service';

/** For apps that hold MASTER_KEY (records, worker, cli). The gateway uses PseudonymModule (`@hotline/crypto/pseudonym`) only. */
@Module({
  providers: [
    KeystoreService,
    { provide: DataKeyStore, useExisting: KeystoreService },
    ContentCipher,
    PseudonymService,
    // One-time sealing keys in the keystore's `contact_keys` (closing SMS numbers, the SIDs left for Twilio's cleanup).
    {
      provide: ContactKeys,
      useFactory: (keystore: DataSource, env: Env) => new ContactKeys(keystore, env),
      inject: [getDataSourceToken(KEYSTORE), ENV],
    },
  ],
  exports: [KeystoreService, DataKeyStore, ContentCipher, PseudonymService, ContactKeys],
})
export class CryptoModule {}
