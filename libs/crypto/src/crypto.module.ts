import { Module } from '@nestjs/common';
import { ContentCipher } from './content-cipher.service';
import { DataKeyStore } from './data-key-store';
import { KeystoreService } from './keystore.service';
import { PseudonymService } from './pseudonym/pseudonym.service';

/** For apps that hold MASTER_KEY (records, worker, cli). The gateway uses PseudonymModule (`@hotline/crypto/pseudonym`) only. */
@Module({
  providers: [KeystoreService, { provide: DataKeyStore, useExisting: KeystoreService }, ContentCipher, PseudonymService],
  exports: [KeystoreService, DataKeyStore, ContentCipher, PseudonymService],
})
export class CryptoModule {}
