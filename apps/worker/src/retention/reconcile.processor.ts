import { Injectable } from '@nestjs/common';
import { ReconcileResult, ReconcileService } from '@hotline/retention';

@Injectable()
export class ReconcileProcessor {
  constructor(private readonly reconcile: ReconcileService) {}

  process(): Promise<ReconcileResult> {
    return this.reconcile.run();
  }
}
