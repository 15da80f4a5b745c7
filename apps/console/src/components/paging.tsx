import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { message } from './load';

/** One page of a list and how to ask for the next (null: the last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * A list read page by page (records' opaque cursors, or "before" the last item): `load()` reads the
 * first page again (a new search), `more()` appends the next. `auto` loads the first page at once.
 */
export function usePages<T>(
  fetchPage: (cursor?: string) => Promise<Page<T>>,
  opts: { auto?: boolean; deps?: unknown[] } = {},
): {
  items: T[] | null;
  next: string | null;
  busy: boolean;
  error: string | null;
  load: () => Promise<void>;
  more: () => Promise<void>;
} {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const read = useCallback(async (cursor?: string) => {
    setBusy(true);
    setError(null);
    try {
      const page = await fetchRef.current(cursor);
      setItems((prev) => (cursor && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }, []);
  useEffect(() => {
    if (opts.auto) void read();
  }, opts.deps ?? []);
  return { items, next, busy, error, load: () => read(), more: () => (next ? read(next) : Promise.resolve()) };
}

/** A Show more button, while there is a next page. */
export function MoreButton(props: { next: string | null; busy: boolean; onMore: () => void; what?: string }) {
  if (!props.next) return null;
  return (
    <button type="button" class="button" onClick={props.onMore} disabled={props.busy}>
      {props.what ? `Show more ${props.what}` : 'Show more'}
    </button>
  );
}
