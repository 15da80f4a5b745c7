import type { DataSource } from 'typeorm';

/** A member's display name (`staff.display_name`), or null when they have none or are not found. */
export async function staffDisplayName(ds: DataSource, staffId: string): Promise<string | null> {
  const rows: { display_name: string | null }[] = await ds.query('SELECT display_name FROM staff WHERE id = ?', [staffId]);
  return rows[0]?.display_name || null;
}
