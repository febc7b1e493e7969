import { useEffect, useState } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { LaneSummary } from "../backend";
import { useApp } from "../context";
import { formatDate, formatMoney } from "../format";

/** Low-ARR accounts as aggregates and trends; only the exceptions reach a person. */
export function LaneTab({ onOpenAccount }: { onOpenAccount: (id: string) => void }) {
  const { backend, reportError } = useApp();
  const [lane, setLane] = useState<LaneSummary | null>(null);
  useEffect(() => {
    backend.techTouchLane().then(setLane).catch(reportError);
  }, [backend, reportError]);
  if (!lane) return <p className="empty">Loading…</p>;
  return (
    <div className="grid" data-testid="lane">
      <section className="card span-2">
        <dl className="head-stats">
          <div>
            <dt>Accounts in the lane</dt>
            <dd data-testid="lane-accounts">{lane.accounts.toLocaleString("en-US")}</dd>
          </div>
          <div>
            <dt>At risk</dt>
            <dd data-testid="lane-at-risk">{lane.at_risk.toLocaleString("en-US")}</dd>
          </div>
          <div>
            <dt>ARR</dt>
            <dd>{formatMoney(lane.arr_base_minor, "USD", 2, true)}</dd>
          </div>
          <div>
            <dt>ARR at risk</dt>
            <dd>{formatMoney(lane.at_risk_arr_base_minor, "USD", 2, true)}</dd>
          </div>
        </dl>
        <p className="muted small" data-testid="lane-line">Tech-touch segment or below {formatMoney(lane.arr_line * 100, "USD", 2)} ARR: digital playbooks instead of a CSM’s time. The line is set in Settings › Priority.</p>
      </section>
      <section className="card">
        <h2>At risk by category</h2>
        <ul className="list">
          {lane.by_category.map((c) => (
            <li key={c.label} data-testid="lane-category">
              <span>{c.label}</span> <strong>{c.count}</strong>
            </li>
          ))}
        </ul>
        <h3>Every lane account by severity</h3>
        <ul className="list">
          {lane.by_severity.map((c) => (
            <li key={c.label} data-testid="lane-severity">
              <span>{c.label}</span> <strong>{c.count}</strong>
            </li>
          ))}
        </ul>
      </section>
      <section className="card">
        <h2>Digital playbooks</h2>
        <table className="measures compact" data-testid="lane-playbooks">
          <thead>
            <tr>
              <th>Playbook</th>
              <th className="num">Running</th>
              <th className="num">Saved</th>
              <th className="num">Churned</th>
              <th className="num">Other</th>
            </tr>
          </thead>
          <tbody>
            {lane.playbooks.map((p) => (
              <tr key={p.playbook}>
                <td>{p.playbook}</td>
                <td className="num">{p.running}</td>
                <td className="num">{p.saved}</td>
                <td className="num">{p.churned}</td>
                <td className="num">{p.other_closed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card span-2">
        <h2>Lane accounts scoring under 50</h2>
        <div style={{ height: 200 }}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={lane.trend.map((t) => ({ day: formatDate(t.day), at_risk: t.at_risk }))}>
              <CartesianGrid stroke="#eee" />
              <XAxis dataKey="day" fontSize={12} />
              <YAxis fontSize={12} allowDecimals={false} />
              <Tooltip />
              <Line type="monotone" dataKey="at_risk" name="under 50" stroke="#b91c1c" dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      </section>
      <section className="card span-2">
        <h2>
          Exceptions for a person <small className="muted">High severity with expansion potential</small>
        </h2>
        {lane.exceptions.length === 0 ? (
          <p className="muted">None: every tech-touch account at risk is on a digital playbook.</p>
        ) : (
          <ul className="list" data-testid="lane-exceptions">
            {lane.exceptions.map((e) => (
              <li key={e.account_id}>
                <button className="link" onClick={() => onOpenAccount(e.account_id)} data-testid="lane-exception">
                  {e.name}
                </button>
                <span className="muted small">
                  {formatMoney(e.arr_base_minor, "USD", 2, true)} · expansion {e.expansion_potential} · {e.owner_name ?? "pooled"}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
