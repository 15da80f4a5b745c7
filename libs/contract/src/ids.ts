const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One of Hotline's ids (a call, a staff member, a record): a lower-case UUID, as the server makes them. */
export function isId(s: unknown): s is string {
  return typeof s === 'string' && ID.test(s);
}
