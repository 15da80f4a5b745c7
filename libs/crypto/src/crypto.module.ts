import { Module } from '@nestjs/common';
import { ContentCipher } from './content-cipher.service';
import { KeystoreService } from './keystore.service';
import { PseudonymService } from './pseudonym/pseudonym.service';

/** For apps that hold MASTER_KEY (records, worker, cli). The gateway uses PseudonymModule (`@hotline/crypto/pseudonym`) only. */
@Module({ providers: [KeystoreService, ContentCipher, PseudonymService], exports: [KeystoreService, ContentCipher, PseudonymService] })
export class CryptoModule {}
