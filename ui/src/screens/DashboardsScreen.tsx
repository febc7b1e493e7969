import { useEffect, useRef, useState } from "react";
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Attrition, Dashboard, ReportKind, ReportPreview, Slice } from "../backend";
import { useApp } from "../context";
import { bySeverity, formatDate, formatMoney, segmentLabel } from "../format";
import type { WorklistPreset } from "./WorklistScreen";

const usd = (minor: number) => formatMoney(minor, "USD", 2, true);

/** ARR at risk and where it sits; a click on a bar opens the accounts behind it. */
export function DashboardsScreen({ onDrill }: { onDrill: (preset: WorklistPreset) => void }) {
  const { backend, reportError } = useApp();
  const [d, setD] = useState<Dashboard | null>(null);
  useEffect(() => {
    backend.dashboard().then(setD).catch(reportError);
  }, [backend, reportError]);
  if (!d) return <p className="empty">Loading…</p>;
  const drill = (filters: WorklistPreset["filters"]) => onDrill({ scope: "all", filters: { include_digital: true, ...filters } });
  const f = d.funnel;
  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Dashboards</h1>
        <span className="muted">Click a bar for the accounts behind it.</span>
      </div>
      <section className="card">
        <dl className="head-stats" data-testid="dash-totals">
          <div>
            <dt>ARR at risk</dt>
            <dd data-testid="dash-arr-at-risk">{usd(d.at_risk_arr_base_minor)}</dd>
          </div>
          <div>
            <dt>Accounts at risk</dt>
            <dd data-testid="dash-at-risk">{d.at_risk_accounts.toLocaleString("en-US")}</dd>
          </div>
          <div>
            <dt>Share of ARR</dt>
            <dd>{d.total_arr_base_minor ? `${((100 * d.at_risk_arr_base_minor) / d.total_arr_base_minor).toFixed(1)} %` : "—"}</dd>
          </div>
          <div>
            <dt title="Accounts whose data covers too little of their scorecard for a score">Unscored (not enough data)</dt>
            <dd data-testid="dash-unscored">{d.unscored_accounts.toLocaleString("en-US")}</dd>
          </div>
          <div>
            <dt>Escalations open · closed</dt>
            <dd data-testid="dash-escalations">
              {f.escalated - f.closed} · {f.closed}
            </dd>
          </div>
        </dl>
      </section>
      <div className="grid">
        <SliceChart title="ARR at risk by severity" testId="dash-severity" slices={bySeverity(d.by_severity)} onPick={(s) => s.key && drill({ severity: s.key as never })} />
        <SliceChart title="ARR at risk by category" testId="dash-category" slices={d.by_category} onPick={(s) => s.key && drill({ category: s.key })} />
        <SliceChart
          title="ARR at risk by segment"
          testId="dash-segment"
          slices={d.by_segment.map((s) => ({ ...s, label: segmentLabel[s.label as keyof typeof segmentLabel] ?? s.label }))}
          onPick={(s) => s.key && drill({ segment: s.key as never })}
        />
        <SliceChart title="ARR at risk by owner" testId="dash-owner" slices={d.by_owner} onPick={(s) => s.key && drill({ owner_id: s.key })} />
        <section className="card span-2">
          <h2>Accounts scoring under 50, over time</h2>
          <div style={{ height: 220 }}>
            <ResponsiveContainer width="100%" height="100%">
              <LineChart data={d.over_time.map((p) => ({ day: formatDate(p.day), accounts: p.accounts, arr: p.arr_base_minor / 100 }))}>
                <CartesianGrid stroke="#eee" />
                <XAxis dataKey="day" fontSize={12} />
                <YAxis yAxisId="n" fontSize={12} allowDecimals={false} />
                <YAxis yAxisId="arr" orientation="right" fontSize={12} tickFormatter={(v: number) => usd(v * 100)} />
                <Tooltip formatter={(v, name) => (name === "ARR" ? usd(Number(v) * 100) : String(v))} />
                <Line yAxisId="n" dataKey="accounts" name="accounts" stroke="#b91c1c" dot={false} isAnimationActive={false} />
                <Line yAxisId="arr" dataKey="arr" name="ARR" stroke="#2563eb" dot={false} isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </section>
        <section className="card">
          <h2>Escalation funnel and outcomes</h2>
          <table className="measures compact" data-testid="dash-funnel">
            <tbody>
              {(
                [
                  ["Escalated", f.escalated],
                  ["With agreed actions", f.with_actions],
                  ["With decisions", f.with_decisions],
                  ["Closed", f.closed],
                  ["· saved", f.saved],
                  ["· downsell", f.downsell],
                  ["· churned", f.churned],
                  ["· resolved without leadership", f.resolved],
                  ["· de-escalated", f.de_escalated],
                ] as Array<[string, number]>
              ).map(([label, n]) => (
                <tr key={label}>
                  <td>{label}</td>
                  <td className="num">{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card">
          <h2>Churn reasons</h2>
          {d.churn_reasons.length === 0 ? (
            <p className="muted">No churn recorded.</p>
          ) : (
            <ul className="list" data-testid="dash-churn">
              {d.churn_reasons.map((s) => (
                <li key={s.label}>
                  <span>{s.label}</span>
                  <span>
                    {s.accounts} · {usd(s.arr_base_minor)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <ReportsCard />
        <AttritionTable title="Attrition by segment" rows={d.attrition_by_segment.map((a) => ({ ...a, label: segmentLabel[a.label as keyof typeof segmentLabel] ?? a.label }))} />
        <AttritionTable title="Attrition by tenure" rows={d.attrition_by_tenure} />
      </div>
    </div>
  );
}

function SliceChart({ title, slices, onPick, testId }: { title: string; slices: Slice[]; onPick: (s: Slice) => void; testId: string }) {
  return (
    <section className="card" data-testid={testId}>
      <h2>{title}</h2>
      <div style={{ height: Math.max(120, 26 * slices.length + 40) }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={slices.map((s) => ({ ...s, arr: s.arr_base_minor / 100 }))} layout="vertical" margin={{ left: 20 }}>
            <XAxis type="number" fontSize={11} tickFormatter={(v: number) => usd(v * 100)} />
            <YAxis type="category" dataKey="label" width={120} fontSize={11} interval={0} />
            <Tooltip formatter={(v) => usd(Number(v) * 100)} />
            <Bar dataKey="arr" name="ARR at risk" fill="#2563eb" cursor="pointer" isAnimationActive={false} onClick={(data: { payload?: Slice }) => data.payload && onPick(data.payload)} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ul className="slice-links">
        {slices.map((s) => (
          <li key={s.label}>
            <button className="link" onClick={() => onPick(s)} disabled={!s.key} data-testid={`${testId}-link`}>
              {s.label}
            </button>{" "}
            <span className="muted small">
              {s.accounts} · {usd(s.arr_base_minor)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function AttritionTable({ title, rows }: { title: string; rows: Attrition[] }) {
  return (
    <section className="card">
      <h2>{title}</h2>
      <table className="measures compact">
        <thead>
          <tr>
            <th />
            <th className="num">Accounts</th>
            <th className="num">Logo churn</th>
            <th className="num">ARR churn</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.label}>
              <td>{a.label}</td>
              <td className="num">{a.accounts.toLocaleString("en-US")}</td>
              <td className="num">{a.accounts ? `${((100 * a.churned) / a.accounts).toFixed(1)} %` : "—"}</td>
              <td className="num">{a.arr_base_minor ? `${((100 * a.churned_arr_base_minor) / a.arr_base_minor).toFixed(1)} %` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The monthly risk report and the quarterly root-cause review: preview, print (to PDF)
 * from the preview, or export HTML and CSV to a folder. */
function ReportsCard() {
  const { backend, reportError } = useApp();
  const [kind, setKind] = useState<ReportKind>("monthly");
  const [toDate, setToDate] = useState(false);
  const [preview, setPreview] = useState<ReportPreview | null>(null);
  const [folder, setFolder] = useState("");
  const [saved, setSaved] = useState<string[] | null>(null);
  const frame = useRef<HTMLIFrameElement>(null);

  useEffect(() => {
    let live = true;
    setSaved(null);
    backend
      .reportPreview(kind, toDate)
      .then((p) => {
        if (!live) return;
        setPreview(p);
        setFolder((f) => f || p.default_folder);
      })
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, kind, toDate, reportError]);

  return (
    <section className="card span-2" data-testid="reports">
      <div className="card-head">
        <h2>Reports</h2>
        <div className="toolbar">
          <select value={kind} onChange={(e) => setKind(e.target.value as ReportKind)} aria-label="Report" data-testid="report-kind">
            <option value="monthly">Monthly risk report</option>
            <option value="root_cause">Quarterly root-cause review</option>
          </select>
          <select value={toDate ? "current" : "last"} onChange={(e) => setToDate(e.target.value === "current")} aria-label="Period">
            <option value="last">Last full period</option>
            <option value="current">This period so far</option>
          </select>
          <button className="button secondary" onClick={() => frame.current?.contentWindow?.print()} disabled={!preview}>
            Print / PDF…
          </button>
        </div>
      </div>
      {preview && (
        <>
          <p className="muted small" data-testid="report-title">
            {preview.report.title} · {preview.report.tables.map((t) => `${t.title}: ${t.rows.length}`).join(" · ")}
          </p>
          <iframe ref={frame} title="Report preview" className="report-frame" srcDoc={preview.html} data-testid="report-frame" />
        </>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          backend.exportReport(kind, toDate, folder).then(setSaved).catch(reportError);
        }}
      >
        <span className="muted">Export HTML and CSV to</span>
        <input className="grow" value={folder} onChange={(e) => setFolder(e.target.value)} aria-label="Folder" data-testid="report-folder" />
        <button className="button" disabled={!folder.trim()} data-testid="report-export">
          Export
        </button>
      </form>
      {saved && (
        <p className="ok small" data-testid="report-saved">
          Saved {saved.join(" and ")}
        </p>
      )}
    </section>
  );
}
