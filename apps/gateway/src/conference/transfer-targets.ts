import { Inject, Injectable } from '@nestjs/common';
import { DIRECTORY, Directory } from '@hotline/config';
import { RoutingStore } from '@hotline/routing';
import { LiveEvents } from '../live/live-events';

/** The transfer targets an operator may pick: available colleagues, and the directory (names, never numbers). */
@Injectable()
export class TransferTargets {
  constructor(
    @Inject(DIRECTORY) private readonly directory: Directory,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
  ) {}

  async send(operatorId: string): Promise<void> {
    try {
      const stats = await this.store.stats();
      this.live.toOperator(operatorId, 'transfer:targets', {
        operators: (stats.operatorList ?? []).filter((o) => o.id !== operatorId).map((o) => ({ id: o.id, name: o.name, status: o.status })),
        directory: this.directory.entries.map((e) => ({ id: e.id, name: e.name, kind: e.kind })),
      });
    } catch {
      // The console asks again with its next call; nothing depends on this list.
    }
  }
}
