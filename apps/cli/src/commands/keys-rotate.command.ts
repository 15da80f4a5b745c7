import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { AuditService } from '@hotline/audit';
import { ENV, Env } from '@hotline/config';
import { KeystoreOnDemand } from '@hotline/crypto';

/**
 * `MASTER_KEY=<new> MASTER_KEY_OLD=<old> npm run cli -- keys:rotate`: re-wraps every data key under
 * the current master key. Content is not touched (it stays encrypted under its data key). Exit 1
 * while keys remain under a master key that is not configured.
 */
@Command({ name: 'keys:rotate', description: 'Re-wrap data keys under MASTER_KEY (old keys in MASTER_KEY_OLD); prints counts' })
export class KeysRotateCommand extends CommandRunner {
  constructor(
    private readonly keys: KeystoreOnDemand,
    @Inject(ENV) private readonly env: Env,
    private readonly audit: AuditService,
  ) {
    super();
  }

  async run(): Promise<void> {
    if (!this.env.MASTER_KEY) {
      process.stderr.write('keys:rotate needs MASTER_KEY (the new master key) and MASTER_KEY_OLD (the earlier ones, comma-separated)\n');
      process.exitCode = 78;
      return;
    }
    // Built on first use, not at start, so that commands which need no master key run without one.
    const keystore = this.keys.get();
    const { rewrapped, remaining } = await keystore.rotate();
    await this.audit.append({
      actorRole: 'system',
      action: 'keys.rotated',
      detail: { masterKeyId: keystore.currentMasterKeyId, rewrapped, remaining },
    });
    process.stdout.write(
      `re-wrapped ${rewrapped} data key(s) under master key ${keystore.currentMasterKeyId}; ${remaining} remain under other keys\n`,
    );
    if (remaining > 0) {
      process.stdout.write('the remaining keys are wrapped by a master key that is not in MASTER_KEY_OLD: add it and run again\n');
      process.exitCode = 1;
    }
  }
}
