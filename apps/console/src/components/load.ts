import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

/** Loads once (and on `reload`), keeping the last result while the next loads. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(null)),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, reload };
}

export const message = (e: unknown): string => (e instanceof ApiError || e instanceof Error ? e.message : 'Something went wrong');

/** Fetches a CSV export with the session's token and hands it to the browser as a download. */
export async function downloadCsv(token: string, path: string, filename: string): Promise<void> {
  const res = await fetch(`/api${path}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/csv' } });
  if (!res.ok) throw new ApiError(res.status, `The export failed (${res.status})`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `2026-11-30T08:15` (what a datetime-local input holds) as an ISO instant, or undefined when empty. */
export const isoOf = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

export const query = (params: Record<string, string | number | undefined>): string => {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return q ? `?${q}` : '';
};
