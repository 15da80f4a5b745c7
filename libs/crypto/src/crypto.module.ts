import { Module } from '@nestjs/common';
import { ContentCipher } from './content-cipher.service';
import { DataKeyStore } from './data-key-store';
import { KeystoreService } from './keystore.service';
import { PseudonymService } from './pseudonym.service';

/** For apps that hold MASTER_KEY (records, worker, cli). The gateway uses PseudonymModule only. */
@Module({
  providers: [KeystoreService, { provide: DataKeyStore, useExisting: KeystoreService }, ContentCipher, PseudonymService],
  exports: [KeystoreService, DataKeyStore, ContentCipher, PseudonymService],
})
export class CryptoModule {}

@Module({ providers: [PseudonymService], exports: [PseudonymService] })
export class PseudonymModule {}
