/**
 * Statistical disclosure control for tables of counts: small counts suppressed, and more cells
 * withheld (complementary suppression) until no suppressed count can be worked out from the figures
 * shown and the sums that hold between them.
 *
 * The reader's knowledge is modelled as an interval per cell: a figure shown is itself; a count shown
 * as "<5" is 1 to 4; a cell withheld to protect another ("x") is 5 or more when it was chosen as a
 * complement, anything when it was withheld with a whole breakdown; and every relation (a total equals
 * its parts; a parent period equals the sum of its sub-periods) holds. The audit narrows these
 * intervals by each relation in turn, repeatedly, until nothing narrows (bounds propagation): what a
 * person with a spreadsheet would work out. A small count is protected while at least two values
 * stay possible for it; any other cell a reader can work out anyway is shown, so that no cell not
 * shown follows from the others. The relations of one period's row form a tree, where this is exact; across
 * sub-periods they form cycles, where a reader solving the whole integer programme might narrow a
 * range further than the audit sees.
 */

/** How a cell is shown: its figure, "<5" (a count from 1 to 4), or withheld ("x"). */
export type Display = 'value' | 'small' | 'withheld';

/** Why a cell is not shown as its figure (or that it is). */
export type CellKind = 'value' | 'small' | 'complement' | 'hidden';

export interface Interval {
  lo: number;
  /** `Infinity` when unbounded. */
  hi: number;
}

export const SMALL_COUNT = 5;

interface Relation {
  cells: number[];
  coefs: number[];
  constant: number;
}

const DISPLAY: Record<CellKind, Display> = { value: 'value', small: 'small', complement: 'withheld', hidden: 'withheld' };

export const displayOf = (k: CellKind): Display => DISPLAY[k];

/**
 * Cells (their true counts), the relations between them, and for each cell how it is shown. Cells
 * added with a fixed interval are "outer": figures decided earlier (a coarser period), whose interval
 * is what a reader already knows of them; they are never changed here, and what is decided here must
 * not narrow them.
 */
export class CountTable {
  readonly values: number[] = [];
  readonly kinds: CellKind[] = [];
  private readonly fixed = new Map<number, Interval>();
  private readonly relations: Relation[] = [];
  private readonly relationsOf: number[][] = [];
  /** Cells this step decides (may suppress), in the order they were added. */
  private readonly actionable: number[] = [];
  private readonly decides = new Set<number>();
  /** The relations whose cells below their first (a parent) are sub-periods of it. */
  private readonly breakdowns = new Set<number>();

  /** A cell this step decides: shown, or "<5" when 1 to 4. `shown: false` for a cell never shown (a slack). */
  cell(value: number, shown = true): number {
    const id = this.push(value, shown ? (value > 0 && value < SMALL_COUNT ? 'small' : 'value') : 'hidden');
    if (shown) {
      this.actionable.push(id);
      this.decides.add(id);
    }
    return id;
  }

  /** A cell decided before (a coarser period's): what a reader knows of it. */
  outer(value: number, known: Interval): number {
    const id = this.push(value, 'value');
    this.fixed.set(id, known);
    return id;
  }

  private push(value: number, kind: CellKind): number {
    this.values.push(value);
    this.kinds.push(kind);
    this.relationsOf.push([]);
    return this.values.length - 1;
  }

  /** Σ coef·cell holds with the cells' true values (the constant is taken from them). */
  relate(terms: [cell: number, coef: 1 | -1][], breakdown = false): void {
    const r: Relation = { cells: terms.map((t) => t[0]), coefs: terms.map((t) => t[1]), constant: 0 };
    r.constant = terms.reduce((s, [c, k]) => s + k * this.values[c], 0);
    const i = this.relations.push(r) - 1;
    if (breakdown) this.breakdowns.add(i);
    for (const c of r.cells) this.relationsOf[c].push(i);
  }

  /** What a reader knows of each cell, before any reasoning. */
  private domain(c: number): Interval {
    const f = this.fixed.get(c);
    if (f) return f;
    const v = this.values[c];
    switch (this.kinds[c]) {
      case 'value':
        return { lo: v, hi: v };
      case 'small':
        return { lo: 1, hi: SMALL_COUNT - 1 };
      case 'complement':
        return { lo: SMALL_COUNT, hi: Infinity };
      case 'hidden':
        return { lo: 0, hi: Infinity };
    }
  }

  /**
   * What a reader can work out of every cell (bounds propagation to a fixed point). `converged` is
   * false when the work limit stopped it first (the intervals are then wider than a reader's).
   */
  propagate(): { known: Interval[]; converged: boolean } {
    const known = this.values.map((_, c) => this.domain(c));
    const queued = new Uint8Array(this.relations.length).fill(1);
    const queue = this.relations.map((_, i) => i);
    let budget = 200 * this.relations.length + 1000;
    while (queue.length) {
      if (budget-- <= 0) return { known, converged: false };
      const ri = queue.shift()!;
      queued[ri] = 0;
      const r = this.relations[ri];
      // Σ k·x over the relation: its least and greatest finite parts and how many terms are unbounded.
      let min = 0;
      let max = 0;
      let minInf = 0;
      let maxInf = 0;
      const term = (i: number): [number, number] => {
        const d = known[r.cells[i]];
        return r.coefs[i] > 0 ? [d.lo, d.hi] : [-d.hi, -d.lo];
      };
      for (let i = 0; i < r.cells.length; i++) {
        const [lo, hi] = term(i);
        if (lo === -Infinity) minInf++;
        else min += lo;
        if (hi === Infinity) maxInf++;
        else max += hi;
      }
      for (let i = 0; i < r.cells.length; i++) {
        const [lo, hi] = term(i);
        // The others' least and greatest sums.
        const oMin = lo === -Infinity ? (minInf > 1 ? -Infinity : min) : minInf ? -Infinity : min - lo;
        const oMax = hi === Infinity ? (maxInf > 1 ? Infinity : max) : maxInf ? Infinity : max - hi;
        // k·x = constant - others.
        let tLo = r.constant - oMax;
        let tHi = r.constant - oMin;
        if (r.coefs[i] < 0) [tLo, tHi] = [-tHi, -tLo];
        const c = r.cells[i];
        const d = known[c];
        const lo2 = Math.max(d.lo, tLo);
        const hi2 = Math.min(d.hi, tHi);
        if (lo2 > d.lo || hi2 < d.hi) {
          known[c] = { lo: lo2, hi: hi2 };
          for (const other of this.relationsOf[c])
            if (other !== ri && !queued[other]) {
              queued[other] = 1;
              queue.push(other);
            }
        }
      }
    }
    return { known, converged: true };
  }

  /** A count from 1 to 4 that is not shown (as "<5", or withheld with its breakdown). */
  private isSmallNotShown(c: number): boolean {
    return this.kinds[c] !== 'value' && this.values[c] > 0 && this.values[c] < SMALL_COUNT;
  }

  /** The first problem, if any: a small count a reader can pin down anyway, or an outer cell narrowed. */
  private problem(known: Interval[], converged: boolean): number | 'unconverged' | null {
    if (!converged) return 'unconverged';
    for (const c of this.actionable) if (this.isSmallNotShown(c) && known[c].lo >= known[c].hi) return c;
    for (const [c, f] of this.fixed) if (known[c].lo > f.lo || known[c].hi < f.hi) return c;
    return null;
  }

  private isProblem(c: number, known: Interval[]): boolean {
    const f = this.fixed.get(c);
    if (f) return known[c].lo > f.lo || known[c].hi < f.hi;
    return known[c].lo >= known[c].hi;
  }

  /**
   * Withholds more cells until every small count not shown keeps at least two possible values and no
   * outer cell is narrowed, then shows what can be worked out anyway (`reveal`). For each problem, the first remedy that solves it is kept; when none does alone,
   * the cheapest is kept anyway and the next round looks again (a complement that can itself be worked
   * out then has its own relations as candidates). Failing everything, every cell this step decides is
   * withheld. Deterministic: the same counts give the same result. Returns what a reader can work out.
   */
  protect(maxRemedies = 24): Interval[] {
    for (let round = 0; round <= this.actionable.length; round++) {
      let { known, converged } = this.propagate();
      const p = this.problem(known, converged);
      if (p === null) return this.reveal(known);
      if (p === 'unconverged') break;
      let kept: number[] | null = null;
      let cheapest: number[] | null = null;
      let n = 0;
      for (const action of this.remedies(p)) {
        if (n++ >= maxRemedies) break;
        cheapest ??= action;
        const before = this.apply(action);
        ({ known, converged } = this.propagate());
        this.undo(action, before);
        if (converged && !this.isProblem(p, known)) {
          kept = action;
          break;
        }
      }
      const action = kept ?? cheapest;
      if (!action) break;
      this.apply(action);
    }
    // Nothing smaller did: every cell this step decides withheld.
    for (const c of this.actionable) this.kinds[c] = 'hidden';
    return this.reveal(this.propagate().known);
  }

  /**
   * Shows every cell not shown that a reader can work out anyway (a complement that turned out not to
   * be needed, a 0 in a withheld breakdown): withholding it would hide nothing. Only counts of 0 or 5
   * and more can be there (a small count pinned is a problem `protect` solves first). So no cell that
   * is not shown follows from the others.
   */
  private reveal(known: Interval[]): Interval[] {
    for (const c of this.actionable)
      if (this.kinds[c] !== 'value' && known[c].lo >= known[c].hi && !this.isSmallNotShown(c)) this.kinds[c] = 'value';
    return known;
  }

  private apply(action: number[]): CellKind[] {
    const before = action.map((c) => this.kinds[c]);
    for (const c of action) this.kinds[c] = action.length === 1 && this.kinds[c] === 'value' ? 'complement' : 'hidden';
    return before;
  }

  private undo(action: number[], before: CellKind[]): void {
    action.forEach((c, i) => (this.kinds[c] = before[i]));
  }

  /**
   * Remedies for problem cell `p`, cheapest first: withhold one figure of 5 or more that shares a
   * relation with `p` (smallest first), or with a cell suppressed in such a relation; then withhold a
   * whole breakdown (every sub-period of one cell) that `p` is in or that sums to `p`.
   */
  private *remedies(p: number): Generator<number[]> {
    const tried = new Set<number>();
    const shown = (c: number) => this.kinds[c] === 'value' && this.decides.has(c) && this.values[c] >= SMALL_COUNT;
    const near = (rels: number[]) =>
      [...new Set(rels.flatMap((r) => this.relations[r].cells))]
        .filter((c) => shown(c) && !tried.has(c))
        .sort((a, b) => this.values[a] - this.values[b] || a - b);
    const first = this.relationsOf[p];
    for (const c of near(first)) {
      tried.add(c);
      yield [c];
    }
    const suppressed = [...new Set(first.flatMap((r) => this.relations[r].cells))].filter(
      (c) => c !== p && this.decides.has(c) && this.kinds[c] !== 'value',
    );
    for (const c of near(suppressed.flatMap((s) => this.relationsOf[s]))) {
      tried.add(c);
      yield [c];
    }
    for (const r of first.filter((r) => this.breakdowns.has(r))) {
      const [parent, ...cells] = this.relations[r].cells;
      // Under a parent known to be 0 every part is 0 for all to see: nothing there to withhold.
      const zero = this.fixed.get(parent)?.hi === 0;
      const parts = cells.filter((c) => this.decides.has(c) && this.kinds[c] !== 'hidden' && !zero);
      if (parts.length) yield parts;
    }
  }

  /** What a reader is given: each cell's interval before any reasoning, and the relations (for tests that attack the table). */
  readerView(): { domains: Interval[]; relations: { cells: number[]; coefs: number[]; constant: number }[] } {
    return { domains: this.values.map((_, c) => this.domain(c)), relations: this.relations.map((r) => ({ ...r })) };
  }

  /** How each cell is shown. */
  display(c: number): Display {
    return DISPLAY[this.kinds[c]];
  }
}
