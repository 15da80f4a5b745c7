import { Module } from '@nestjs/common';
import { PseudonymService } from './pseudonym.service';

/** Pseudonyms alone: what the gateway may hold (it never reaches the keystore or the content cipher). */
@Module({ providers: [PseudonymService], exports: [PseudonymService] })
export class PseudonymModule {}
