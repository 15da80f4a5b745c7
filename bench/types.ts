/** One line of the benchmark table. */
export interface BenchRow {
  /** What was measured, e.g. "note write+read, encrypted". */
  name: string;
  value: number;
  unit: string;
  /** The reference measured in the same run (e.g. plaintext, bare node:http, plain DELETE). */
  floor?: { name: string; value: number; unit: string };
  /** value / floor (or as defined by the bench), and the target it must meet. */
  ratio?: number;
  target?: string;
  pass?: boolean;
  /**
   * The target as a check that bench/run.ts applies to the median of the runs (the row's `pass` is
   * one run's): on the value or on the ratio, at least or below a limit.
   */
  goal?: { on: 'value' | 'ratio'; atLeast?: number; below?: number };
  notes?: string;
}

/** A benchmark module's default export. It sets up and tears down everything it uses. */
export type Bench = () => Promise<BenchRow[]>;
