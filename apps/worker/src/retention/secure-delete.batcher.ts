import { Inject, Injectable } from '@nestjs/common';
import { RetentionConfig } from '@hotline/config';
import { RETENTION_CONFIG, SecureDeleteOutcome, SecureDeleteRequest, SecureDeleteService } from '@hotline/retention';

const GATHER_MS = 5;

/**
 * Gathers the secure-delete jobs this worker is running at the same moment (up to its
 * concurrency, at most `batchSize`) into one `destroyMany`: one records transaction and one
 * keystore statement for all of them, instead of one each. Each job still gets its own outcome,
 * its own retries and its own certificate.
 */
@Injectable()
export class SecureDeleteBatcher {
  private pending: { req: SecureDeleteRequest; resolve: (o: SecureDeleteOutcome) => void; reject: (e: Error) => void }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly service: SecureDeleteService, @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig) {}

  submit(req: SecureDeleteRequest): Promise<SecureDeleteOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (this.pending.length >= this.cfg.batchSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.cfg.batchSize);
    if (this.pending.length) this.timer = setTimeout(() => this.flush(), GATHER_MS);
    if (!batch.length) return;
    this.service.destroyMany(batch.map((b) => b.req)).then(
      (outcomes) => batch.forEach((b, i) => b.resolve(outcomes[i])),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  }
}
