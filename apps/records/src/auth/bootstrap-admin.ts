import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { StaffService } from '@hotline/auth';

/** `BOOTSTRAP_ADMIN=username:password`: the first admin, created at start when no staff account exists. */
@Injectable()
export class BootstrapAdmin implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdmin.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    private readonly staff: StaffService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.env.BOOTSTRAP_ADMIN) return;
    const outcome = await this.staff.bootstrapAdmin(this.env.BOOTSTRAP_ADMIN);
    if (outcome === 'created') this.logger.log('created the BOOTSTRAP_ADMIN account (no staff account existed)');
    else this.logger.log('BOOTSTRAP_ADMIN ignored: staff accounts exist already');
  }
}
