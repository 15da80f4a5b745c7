import { Inject, Injectable, Module } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ENV, Env } from '@hotline/config';
import { KEYSTORE } from '@hotline/persistence';
import { KeystoreService } from './keystore.service';

/**
 * The keystore for an app whose other work needs no master key (the CLI: only `keys:rotate` does):
 * built on first use, so the app starts without MASTER_KEY and fails only where one is needed.
 */
@Injectable()
export class KeystoreOnDemand {
  private keystore?: KeystoreService;

  constructor(
    @InjectDataSource(KEYSTORE) private readonly ds: DataSource,
    @Inject(ENV) private readonly env: Env,
  ) {}

  get(): KeystoreService {
    return (this.keystore ??= new KeystoreService(this.ds, this.env));
  }
}

@Module({ providers: [KeystoreOnDemand], exports: [KeystoreOnDemand] })
export class KeystoreOnDemandModule {}
