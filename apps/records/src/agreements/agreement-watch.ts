import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AgreementCatalog, SessionRegistry, agreementRequired } from '@hotline/auth';
import { ENV, Env } from '@hotline/config';

/** How often records reads AGREEMENTS_DIR for a new version. */
export const AGREEMENT_POLL_MS = 250;

/**
 * Publishing a new agreement reaches consoles already connected within a second: records reads the
 * directory every quarter second and, when the current version changes, announces it on the sessions
 * channel (signed); every gateway node then tells the sockets of members who have not accepted it
 * (`session:agreement_required`) and closes them, and refuses their connections until they accept.
 * Their next request to records is refused too (AccessGuard).
 *
 * Outside tests and the demo, records does not start without a readable AGREEMENTS_DIR holding a
 * version: a missing directory must not mean that no agreement is asked for.
 */
@Injectable()
export class AgreementWatch implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AgreementWatch.name);
  private timer?: NodeJS.Timeout;
  private announced?: string | null;

  constructor(
    private readonly catalog: AgreementCatalog,
    private readonly sessions: SessionRegistry,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onApplicationBootstrap(): void {
    if (agreementRequired(this.env)) this.catalog.assertPublished();
    this.timer = setInterval(() => void this.poll(), AGREEMENT_POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const version = this.catalog.refresh()?.version ?? null;
    if (version === this.announced) return;
    try {
      await this.sessions.agreementPublished(version);
      if (this.announced !== undefined) this.logger.log({ msg: 'a new agreement version is current; consoles are told', version });
      this.announced = version;
    } catch (e) {
      this.logger.warn(`the new agreement version could not be announced yet: ${(e as Error).message}`);
    }
  }
}
