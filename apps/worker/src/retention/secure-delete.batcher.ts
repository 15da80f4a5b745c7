import { Inject, Injectable } from '@nestjs/common';
import { RetentionConfig } from '@hotline/config';
import { RETENTION_CONFIG, SecureDeleteOutcome, SecureDeleteRequest, SecureDeleteService } from '@hotline/retention';

/** How long the first job of a batch waits for others that arrive with it. */
const GATHER_MS = 20;
/** Two batches at once: one at Twilio while the other is in its transaction. */
const MAX_IN_FLIGHT = 2;

interface Pending {
  req: SecureDeleteRequest;
  resolve: (o: SecureDeleteOutcome) => void;
  reject: (e: Error) => void;
}

/**
 * Gathers the secure-delete jobs this worker runs at the same moment (up to its concurrency, at
 * most `batchSize` per batch) into one `destroyMany`: one records transaction and one keystore
 * statement for all of them instead of one each. Jobs that arrive while batches are running wait
 * for the next one (like a group commit). Each job still gets its own outcome, its own retries
 * and its own certificate.
 */
@Injectable()
export class SecureDeleteBatcher {
  private pending: Pending[] = [];
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private lastBusyAt = 0;

  constructor(
    private readonly service: SecureDeleteService,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
  ) {}

  submit(req: SecureDeleteRequest): Promise<SecureDeleteOutcome> {
    this.lastBusyAt = Date.now();
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (this.pending.length >= this.cfg.batchSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
    });
  }

  /**
   * Resolves once no destruction has been waiting or running here for `quietMs` (the Twilio cleanup
   * waits for it: the records go first, and a purge's scan pages arrive a few milliseconds apart).
   */
  async idle(quietMs = 500): Promise<void> {
    for (;;) {
      if (this.pending.length || this.inFlight) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      const since = this.lastBusyAt;
      await new Promise((r) => setTimeout(r, Math.max(0, since + quietMs - Date.now())));
      if (!this.pending.length && !this.inFlight && this.lastBusyAt === since) return;
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length && this.inFlight < MAX_IN_FLIGHT) {
      const batch = this.pending.splice(0, this.cfg.batchSize);
      this.inFlight++;
      this.service
        .destroyMany(batch.map((b) => b.req))
        .then(
          (outcomes) => batch.forEach((b, i) => b.resolve(outcomes[i])),
          (e) => batch.forEach((b) => b.reject(e)),
        )
        .finally(() => {
          this.inFlight--;
          this.lastBusyAt = Date.now();
          // A full batch goes at once; a partial one waits a moment for more, so that the batches
          // stay large while jobs keep arriving (small batches pay the transaction's fixed cost
          // more often).
          if (this.pending.length >= this.cfg.batchSize) this.flush();
          else if (this.pending.length) this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
          else if (!this.inFlight) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }
}
