import { Injectable } from '@nestjs/common';
import { Principal, staffDisplayName } from '@hotline/auth';
import { withTimeout } from '@hotline/observability';
import { RecordsDb } from '../records-db';

/** Display names for the wallboard: staff.display_name when MySQL answers quickly, else the username. */
@Injectable()
export class OperatorNames {
  private readonly cache = new Map<string, string>();

  constructor(private readonly db: RecordsDb) {}

  async of(p: Principal): Promise<string> {
    const known = this.cache.get(p.id);
    if (known) return known;
    try {
      const ds = this.db.current;
      if (!ds) throw new Error('not connected');
      const name = (await withTimeout(staffDisplayName(ds, p.id), 500)) ?? p.username;
      this.cache.set(p.id, name);
      return name;
    } catch {
      void this.db.get().catch(() => undefined);
      return p.username;
    }
  }
}
