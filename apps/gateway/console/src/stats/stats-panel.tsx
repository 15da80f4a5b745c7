import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { downloadCsv, message, query, useLoad } from '../records-officer/oversight-shell';
import { ErrorText } from '../ui';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

type Period = 'hour' | 'day' | 'week';
interface StatsPeriod {
  start: string;
  offered: number;
  answered: number;
  abandoned: number;
  answeredInServiceLevel: number;
  wait: Record<string, number>;
  talk: Record<string, number>;
  riskAssessed: Record<string, number>;
  escalations: number;
  complaintsReceived: number;
}
interface Stats {
  from: string;
  to: string;
  by: Period;
  serviceLevelSeconds: number;
  periods: StatsPeriod[];
}

const HOUR = 3_600_000;
/** How far back each view looks. */
const SPAN: Record<Period, number> = { hour: 48 * HOUR, day: 14 * 24 * HOUR, week: 12 * 7 * 24 * HOUR };
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
  const range = () => {
    const to = new Date(Math.ceil(Date.now() / HOUR) * HOUR);
    return { by, from: new Date(to.getTime() - SPAN[by]).toISOString(), to: to.toISOString() };
  };
  const stats = useLoad(() => api<Stats>('GET', `/stats/hourly${query(range())}`, { token: props.token }), [by]);
  const s = stats.data;
  const totals = s?.periods.reduce(
    (t, p) => ({
      offered: t.offered + p.offered,
      answered: t.answered + p.answered,
      abandoned: t.abandoned + p.abandoned,
      inSl: t.inSl + p.answeredInServiceLevel,
    }),
    { offered: 0, answered: 0, abandoned: 0, inSl: 0 },
  );
  const waits: Record<string, number> = {};
  for (const p of s?.periods ?? []) for (const [b, n] of Object.entries(p.wait)) waits[b] = (waits[b] ?? 0) + n;

  return (
    <section class="panel stats" aria-labelledby="stats-title">
      <div class="panel-head">
        <h2 id="stats-title">Statistics</h2>
        <div class="stats-controls">
          <label for="stats-by">Period</label>
          <select id="stats-by" value={by} onChange={(e) => setBy(e.currentTarget.value as Period)}>
            {(Object.keys(SPAN) as Period[]).map((p) => (
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
      {s && totals && (
        <p role="status" class="muted">
          {totals.offered} calls offered, {totals.answered} answered ({totals.inSl} within {s.serviceLevelSeconds} s), {totals.abandoned}{' '}
          abandoned. Kept after the calls themselves are deleted.
        </p>
      )}
      {s && !asTable && (
        <div class="charts">
          <BarChart
            title="Calls per period"
            labels={s.periods.map((p) => label(p.start, s.by))}
            series={[
              { name: 'Offered', color: '#2f6f8f', values: s.periods.map((p) => p.offered) },
              { name: 'Answered', color: '#2e7d5b', values: s.periods.map((p) => p.answered) },
              { name: 'Abandoned', color: '#b3261e', values: s.periods.map((p) => p.abandoned) },
            ]}
          />
          <BarChart
            title="Waiting time (to answer or hang-up)"
            labels={Object.keys(waits)}
            series={[{ name: 'Calls', color: '#9a5b00', values: Object.values(waits) }]}
          />
        </div>
      )}
      {s && asTable && (
        <table class="table" aria-label="Statistics per period">
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
          <tbody>
            {s.periods.map((p) => (
              <tr key={p.start}>
                <th scope="row">{label(p.start, s.by)}</th>
                <td>{p.offered}</td>
                <td>{p.answered}</td>
                <td>{p.answeredInServiceLevel}</td>
                <td>{p.abandoned}</td>
                <td>{p.escalations}</td>
                <td>{p.complaintsReceived}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A bar chart (chart.js, no animation) whose canvas is an image named by its title and figures. */
function BarChart(props: { title: string; labels: string[]; series: { name: string; color: string; values: number[] }[] }) {
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
  const summary = props.series.map((s) => `${s.name}: ${s.values.reduce((a, b) => a + b, 0)} in all`).join('; ');
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`${props.title}. ${summary}. Use "Show as table" for every figure.`} />
      </div>
    </figure>
  );
}
