import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { ENV, Env } from '@hotline/config';

/**
 * Every AUDIT_CHECKPOINT_INTERVAL_SECONDS, signs the audit entries appended since the last
 * checkpoint into AUDIT_CHECKPOINT_DIR (and once at start, and once when stopping). Needs
 * AUDIT_CHECKPOINT_KEY; without it the worker says so once and checkpoints nothing.
 */
@Injectable()
export class AuditCheckpointer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditCheckpointer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly audit: AuditService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.env.AUDIT_CHECKPOINT_KEY) {
      this.logger.warn({ msg: 'AUDIT_CHECKPOINT_KEY is not set: the audit chain is not checkpointed outside MySQL' });
      return;
    }
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.env.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One checkpoint run; never two at once in this process. */
  tick(): Promise<void> {
    this.running ??= this.audit
      .checkpoint()
      .then((covered) => {
        if (covered) this.logger.log({ msg: 'audit chain checkpointed', entries: covered });
      })
      .catch((e: Error) => this.logger.error({ msg: 'audit checkpoint failed', error: e.message.slice(0, 200) }))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}

@Module({ providers: [AuditCheckpointer], exports: [AuditCheckpointer] })
export class AuditCheckpointModule {}
