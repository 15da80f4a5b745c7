import { Injectable } from '@nestjs/common';
import { associatedData, open, seal } from './envelope';
import { DataKeyStore } from './data-key-store';
import { canonicalId } from './keystore.service';

/** Field-level encryption of a call's content under that call's data key. */
@Injectable()
export class ContentCipher {
  constructor(private readonly keystore: DataKeyStore) {}

  async encrypt(callId: string, field: string, plaintext: string): Promise<Buffer> {
    const key = await this.keystore.getOrCreate(callId);
    return seal(key, Buffer.from(plaintext, 'utf8'), associatedData(canonicalId(callId), field));
  }

  async decrypt(callId: string, field: string, sealed: Buffer): Promise<string> {
    const key = await this.keystore.unwrap(callId);
    return open(key, Buffer.from(sealed), associatedData(canonicalId(callId), field)).toString('utf8');
  }
}
