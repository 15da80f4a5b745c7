import { Module } from '@nestjs/common';
import { ContentCipher } from './content-cipher.service';
import { KeystoreService } from './keystore.service';
import { PseudonymService } from './pseudonym.service';

/** For apps that hold MASTER_KEY (records, worker, cli). The gateway uses PseudonymModule only. */
@Module({ providers: [KeystoreService, ContentCipher, PseudonymService], exports: [KeystoreService, ContentCipher, PseudonymService] })
export class CryptoModule {}

@Module({ providers: [PseudonymService], exports: [PseudonymService] })
export class PseudonymModule {}
