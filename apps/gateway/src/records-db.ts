import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ENV, Env } from '@hotline/config';
import { recordsDataSourceOptions } from '@hotline/persistence';

/**
 * The gateway's connection to the records database, made lazily and retried in the background:
 * the gateway must start and keep taking calls while MySQL is away (fail open for the caller).
 */
@Injectable()
export class RecordsDb implements OnApplicationShutdown {
  private readonly logger = new Logger(RecordsDb.name);
  private ds?: DataSource;
  private connecting?: Promise<DataSource>;

  constructor(@Inject(ENV) private readonly env: Env) {}

  get current(): DataSource | undefined {
    return this.ds?.isInitialized ? this.ds : undefined;
  }

  /** The data source, connecting if needed; rejects when MySQL does not answer. */
  async get(): Promise<DataSource> {
    if (this.ds?.isInitialized) return this.ds;
    this.connecting ??= (async () => {
      const ds = new DataSource({
        ...recordsDataSourceOptions(this.env.DATABASE_URL),
        extra: { connectionLimit: 10, connectTimeout: 2000 },
      } as any);
      try {
        await ds.initialize();
        this.ds = ds;
        return ds;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ds?.destroy().catch(() => undefined);
  }
}

@Global()
@Module({ providers: [RecordsDb], exports: [RecordsDb] })
export class RecordsDbModule {}
