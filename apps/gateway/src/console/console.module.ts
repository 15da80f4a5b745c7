import { Module } from '@nestjs/common';
import { ConsoleAssets } from './console-assets.service';
import { ConsoleController } from './console.controller';
import { RecordsProxyController } from './records-proxy.controller';

/** The console page at `/` and the `/api/*` pass-through to records that it talks to. */
@Module({
  controllers: [ConsoleController, RecordsProxyController],
  providers: [ConsoleAssets],
})
export class ConsoleModule {}
