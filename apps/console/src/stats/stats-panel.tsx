import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { STATS_PERIODS, StatsCount, StatsPeriod, StatsPeriodCounts, StatsReport } from '@hotline/contract';
import { api } from '../api';
import { downloadCsv, message, query, useLoad } from '../components/load';
import { ErrorText } from '../ui';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

type Period = StatsPeriod;
type Count = StatsCount;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** How far back each view looks. */
const SPAN: Record<Period, number> = { hour: 48 * HOUR, day: 14 * DAY, week: 12 * WEEK };
const PERIOD_LABEL: Record<Period, string> = {
  hour: 'By hour (last 48 hours)',
  day: 'By day (last 14 days)',
  week: 'By week (last 12 weeks)',
};

function label(iso: string, by: Period): string {
  const d = new Date(iso);
  if (by === 'hour') return d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  return (by === 'week' ? 'w/c ' : '') + d.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/**
 * Statistics that outlive deletion (GET /stats/hourly), for supervisors: calls offered, answered and
 * abandoned per period, and the spread of waiting times, as charts (chart.js) with the same figures
 * as a table for screen readers and keyboard users, and a CSV download (small counts suppressed).
 */
export function StatsPanel(props: { token: string }) {
  const [by, setBy] = useState<Period>('day');
  const [asTable, setAsTable] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Whole periods (records answers whole periods only, UTC): up to the end of the current hour, day or week.
  const range = () => {
    const unit = by === 'hour' ? HOUR : by === 'day' ? DAY : WEEK;
    const monday = 4 * DAY; // 1970-01-05, a Monday: weeks counted from there
    const offset = by === 'week' ? monday : 0;
    const to = new Date(Math.ceil((Date.now() - offset) / unit) * unit + offset);
    return { by, from: new Date(to.getTime() - SPAN[by]).toISOString(), to: to.toISOString() };
  };
  const stats = useLoad(() => api<StatsReport>('GET', `/stats/hourly${query(range())}`, { token: props.token }), [by]);
  const s = stats.data;
  const incomplete = new Set(s?.totals.incomplete ?? []);
  /** A total: "at least" when some period's figure was not shown, "not shown" when none was. */
  const total = (cell: string, n: number) => (!incomplete.has(cell) ? String(n) : n > 0 ? `at least ${n}` : 'not shown');
  const small = `<${s?.smallCount ?? 5}`;
  /** A cell as the table shows it: its figure, "<5" (a count from 1 to 4), or "x" (withheld). */
  const cellText = (p: StatsPeriodCounts, cell: string, n: Count) =>
    n !== null ? String(n) : p.suppressed[cell] === 'small' ? small : 'x';
  const withheldIn = (p: StatsPeriodCounts) => ['offered', 'answered', 'abandoned'].some((c) => c in p.suppressed);
  const waits = Object.keys(s?.totals.wait ?? {});

  return (
    <section class="panel stats" aria-labelledby="stats-title">
      <div class="panel-head">
        <h2 id="stats-title">Statistics</h2>
        <div class="stats-controls">
          <label for="stats-by">Period</label>
          <select id="stats-by" value={by} onChange={(e) => setBy(e.currentTarget.value as Period)}>
            {STATS_PERIODS.map((p) => (
              <option key={p} value={p}>
                {PERIOD_LABEL[p]}
              </option>
            ))}
          </select>
          <button type="button" class="button" aria-pressed={asTable} onClick={() => setAsTable((t) => !t)}>
            {asTable ? 'Show as charts' : 'Show as table'}
          </button>
          <button
            type="button"
            class="button"
            onClick={() =>
              void downloadCsv(props.token, `/stats/hourly/csv${query(range())}`, `stats-by-${by}.csv`).catch((e) => setError(message(e)))
            }
          >
            Download CSV
          </button>
        </div>
      </div>
      <ErrorText error={stats.error ?? error} />
      {s && (
        <p role="status" class="muted">
          Offered: {total('offered', s.totals.offered)}. Answered: {total('answered', s.totals.answered)} (within {s.serviceLevelSeconds} s:{' '}
          {total('answeredInServiceLevel', s.totals.answeredInServiceLevel)}). Abandoned: {total('abandoned', s.totals.abandoned)}. Kept
          after the calls themselves are deleted.
        </p>
      )}
      {s && (
        <p class="stats-lag">
          A call is counted here an hour after it ends, so the last hour&rsquo;s calls are not in these figures yet; the wallboard above
          counts today&rsquo;s calls as they happen.
        </p>
      )}
      {s && !asTable && (
        <div class="charts">
          <BarChart
            title="Calls per period"
            labels={s.periods.map((p) => label(p.start, s.by) + (withheldIn(p) ? ' *' : ''))}
            series={[
              { name: 'Offered', color: '#2f6f8f', values: s.periods.map((p) => p.offered) },
              { name: 'Answered', color: '#2e7d5b', values: s.periods.map((p) => p.answered) },
              { name: 'Abandoned', color: '#b3261e', values: s.periods.map((p) => p.abandoned) },
            ]}
          />
          <BarChart
            title="Waiting time (to answer or hang-up)"
            labels={waits.map((b) => (incomplete.has(`wait.${b}`) ? `${b} *` : b))}
            series={[
              {
                name: 'Calls',
                color: '#9a5b00',
                values: waits.map((b) => (incomplete.has(`wait.${b}`) ? null : s.totals.wait[b])),
              },
            ]}
          />
          <p class="muted chart-note">
            Counts under {s.smallCount} are never shown. * marks a period with a count shown as {small}, or withheld (x) so that a small
            count cannot be worked out from the others, and a waiting band not shown for every period: neither draws a bar (not a 0). Use
            "Show as table" for every figure.
          </p>
        </div>
      )}
      {s && asTable && (
        <table class="table" aria-label="Statistics per period" aria-describedby="stats-legend">
          <thead>
            <tr>
              <th scope="col">Period</th>
              <th scope="col">Offered</th>
              <th scope="col">Answered</th>
              <th scope="col">Within service level</th>
              <th scope="col">Abandoned</th>
              <th scope="col">Escalations</th>
              <th scope="col">Complaints</th>
            </tr>
          </thead>
          <caption id="stats-legend" class="muted">
            {small}: a count from 1 to {s.smallCount - 1}. x: withheld so that a small count cannot be worked out from the others.
          </caption>
          <tbody>
            {s.periods.map((p) => (
              <tr key={p.start}>
                <th scope="row">{label(p.start, s.by)}</th>
                <td>{cellText(p, 'offered', p.offered)}</td>
                <td>{cellText(p, 'answered', p.answered)}</td>
                <td>{cellText(p, 'answeredInServiceLevel', p.answeredInServiceLevel)}</td>
                <td>{cellText(p, 'abandoned', p.abandoned)}</td>
                <td>{cellText(p, 'escalations', p.escalations)}</td>
                <td>{cellText(p, 'complaintsReceived', p.complaintsReceived)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A bar chart (chart.js, no animation) whose canvas is an image named by its title and figures. A
 * value not shown (`null`) draws no bar (never a 0); the summary then says "at least".
 */
function BarChart(props: { title: string; labels: string[]; series: { name: string; color: string; values: Count[] }[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      type: 'bar',
      data: {
        labels: props.labels,
        datasets: props.series.map((s) => ({ label: s.name, data: s.values, backgroundColor: s.color })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => chart.destroy();
  }, [JSON.stringify(props)]);
  const summary = props.series
    .map((s) => {
      const sum = s.values.reduce<number>((a, b) => a + (b ?? 0), 0);
      const missing = s.values.filter((v) => v === null).length;
      return missing ? `${s.name}: at least ${sum} in all (${missing} not shown)` : `${s.name}: ${sum} in all`;
    })
    .join('; ');
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`${props.title}. ${summary}. Use "Show as table" for every figure.`} />
      </div>
    </figure>
  );
}
