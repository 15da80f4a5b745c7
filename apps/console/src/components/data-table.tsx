import type { ComponentChildren } from 'preact';

export interface Column<T> {
  /** The column's heading; `hidden` headings are read by screen readers only (an action column). */
  header: string;
  hidden?: boolean;
  cell: (row: T) => ComponentChildren;
  /** The cell names its row (a `th scope="row"`). */
  rowHeader?: boolean;
  class?: string;
}

/**
 * A list as a table: headed columns, one row per item, a line saying so when there are none, and a
 * loading line until the rows are there. Named by `label` or by the heading `labelledBy` points at.
 */
export function DataTable<T>(props: {
  columns: Column<T>[];
  rows: readonly T[] | null | undefined;
  rowKey: (row: T) => string | number;
  empty: string;
  label?: string;
  labelledBy?: string;
  describedBy?: string;
  rowClass?: (row: T) => string;
  /** Shown while `rows` is null; nothing by default (an error says why instead). */
  loading?: string;
  caption?: ComponentChildren;
}) {
  const { columns, rows } = props;
  return (
    <table class="table" aria-label={props.label} aria-labelledby={props.labelledBy} aria-describedby={props.describedBy}>
      {props.caption && (
        <caption id={props.describedBy} class="muted">
          {props.caption}
        </caption>
      )}
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} scope="col">
              {c.hidden ? <span class="visually-hidden">{c.header}</span> : c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {!rows && props.loading && (
          <tr>
            <td colSpan={columns.length} class="muted">
              {props.loading}
            </td>
          </tr>
        )}
        {rows?.length === 0 && (
          <tr>
            <td colSpan={columns.length} class="muted">
              {props.empty}
            </td>
          </tr>
        )}
        {rows?.map((row) => (
          <tr key={props.rowKey(row)} class={props.rowClass?.(row) || undefined}>
            {columns.map((c) =>
              c.rowHeader ? (
                <th key={c.header} scope="row" class={c.class}>
                  {c.cell(row)}
                </th>
              ) : (
                <td key={c.header} class={c.class}>
                  {c.cell(row)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
