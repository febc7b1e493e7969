import { useEffect, useState } from "react";
import type { EscalationCriteria, PriorityConfig, RiskCategory, User } from "../backend";
import { BackendError } from "../backend";
import { useApp } from "../context";

type Scalar = Exclude<keyof PriorityConfig, "urgency">;

const FIELDS: Array<[Scalar, string]> = [
  ["reference_arr", "ARR that counts as ×1 revenue impact (USD)"],
  ["revenue_weight", "Revenue weight: ×(1 + weight × log10(ARR / reference))"],
  ["strategic_multiplier", "Strategic account ×"],
  ["expansion_high_multiplier", "High expansion potential ×"],
  ["expansion_medium_multiplier", "Medium expansion potential ×"],
  ["avoidable_multiplier", "Avoidable risk ×"],
  ["expected_unavoidable_multiplier", "Expected and unavoidable risk ×"],
  ["low_value_arr", "Low-value line (USD ARR)"],
  ["expected_unavoidable_low_value_multiplier", "Expected and unavoidable, below the low-value line ×"],
  ["digital_lane_arr", "Tech-touch lane: ARR below (USD)"],
];

/** The priority weights; saving re-ranks the whole book. */
export function PrioritySettings() {
  const { backend, reportError } = useApp();
  const [config, setConfig] = useState<PriorityConfig | null>(null);
  const [text, setText] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    backend
      .priorityConfig()
      .then((c) => {
        setConfig(c);
        setText(Object.fromEntries(FIELDS.map(([k]) => [k, String(c[k])])));
      })
      .catch(reportError);
  }, [backend, reportError]);

  if (!config) return <p className="muted">Loading…</p>;
  const save = async () => {
    const bad = FIELDS.find(([k]) => text[k].trim() === "" || Number.isNaN(Number(text[k])));
    if (bad) {
      setMessage({ ok: false, text: `${bad[1]}: not a number` });
      return;
    }
    const next: PriorityConfig = { ...config, ...Object.fromEntries(FIELDS.map(([k]) => [k, Number(text[k])])) };
    try {
      setConfig(await backend.savePriorityConfig(next));
      setMessage({ ok: true, text: "Saved; the worklist is re-ranked." });
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <section className="card settings-card" data-testid="priority-settings">
      <h2>Priority</h2>
      <p className="muted">priority = severity × revenue impact × strategic value × urgency × avoidability. Each factor is shown on the worklist under “why here”.</p>
      <div className="thresholds">
        {FIELDS.map(([k, label]) => (
          <label key={k} className="field">
            <span>{label}</span>
            <input value={text[k]} onChange={(e) => setText({ ...text, [k]: e.target.value })} data-testid={`priority-${k}`} />
          </label>
        ))}
      </div>
      <h3>Urgency by days to renewal</h3>
      <table className="measures compact editor">
        <tbody>
          {config.urgency.map((b, i) => (
            <tr key={i}>
              <td>Renewal within</td>
              <td>
                <input
                  type="number"
                  className="num-input"
                  value={b.within_days}
                  onChange={(e) => setConfig({ ...config, urgency: config.urgency.map((x, j) => (j === i ? { ...x, within_days: Number(e.target.value) } : x)) })}
                  aria-label="Days"
                />{" "}
                days
              </td>
              <td>
                ×
                <input
                  type="number"
                  step="0.05"
                  className="num-input"
                  value={b.multiplier}
                  onChange={(e) => setConfig({ ...config, urgency: config.urgency.map((x, j) => (j === i ? { ...x, multiplier: Number(e.target.value) } : x)) })}
                  aria-label="Multiplier"
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {message && (
        <p className={message.ok ? "ok" : "problem"} role="status" data-testid="priority-message">
          {message.text}
        </p>
      )}
      <div className="actions">
        <button className="button" onClick={save} data-testid="priority-save">
          Save and re-rank
        </button>
      </div>
    </section>
  );
}

/** The churn-reason list, each with its owning executive. */
export function CategorySettings() {
  const { backend, reportError } = useApp();
  const [list, setList] = useState<RiskCategory[] | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    backend.riskCategories().then(setList).catch(reportError);
    backend.listUsers().then(setUsers).catch(reportError);
  }, [backend, reportError, version]);

  const guarded = async (f: () => Promise<unknown>) => {
    setProblem(null);
    try {
      await f();
      setVersion((v) => v + 1);
    } catch (e) {
      if (e instanceof BackendError) setProblem(e.message);
      else reportError(e);
    }
  };
  if (!list) return <p className="muted">Loading…</p>;
  const owners = users.filter((u) => u.role === "executive" || u.role === "manager");
  return (
    <section className="card settings-card" data-testid="category-settings">
      <h2>Risk categories</h2>
      <p className="muted">The churn reasons a risk is filed under. Each has an owning executive, accountable for it in the weekly business review.</p>
      <table className="measures compact">
        <thead>
          <tr>
            <th>Category</th>
            <th>Owning executive</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((c) => (
            <tr key={c.id} data-testid="category-row">
              <td>{c.name}</td>
              <td>
                <select value={c.owner_id ?? ""} onChange={(e) => guarded(() => backend.saveRiskCategory(c.id, c.name, e.target.value || null))} aria-label={`Owner of ${c.name}`} data-testid="category-owner">
                  <option value="">Nobody yet</option>
                  {owners.map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.name} · {u.title}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <button className="link danger" onClick={() => guarded(() => backend.removeRiskCategory(c.id))} data-testid="category-remove">
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void guarded(() => backend.saveRiskCategory(null, name, null)).then(() => setName(""));
        }}
      >
        <input className="grow" placeholder="New category, e.g. pricing" value={name} onChange={(e) => setName(e.target.value)} data-testid="category-name" />
        <button className="button secondary" disabled={!name.trim()} data-testid="category-add">
          Add
        </button>
      </form>
      {problem && (
        <p className="problem" role="alert" data-testid="category-problem">
          {problem}
        </p>
      )}
    </section>
  );
}

/** When an account goes to leadership. */
export function EscalationSettings() {
  const { backend, reportError } = useApp();
  const [c, setC] = useState<EscalationCriteria | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    backend.escalationCriteria().then(setC).catch(reportError);
  }, [backend, reportError]);
  if (!c) return <p className="muted">Loading…</p>;
  const save = async () => {
    try {
      setC(await backend.saveEscalationCriteria(c));
      setMessage({ ok: true, text: "Saved. It applies from the next rule run." });
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  const num = (k: "severity_threshold" | "arr_floor" | "quiet_days", label: string) => (
    <label className="field">
      <span>{label}</span>
      <input type="number" value={c[k]} onChange={(e) => setC({ ...c, [k]: Number(e.target.value) })} data-testid={`escalation-${k}`} />
    </label>
  );
  const flag = (k: "enabled" | "strategic_sponsor_lost" | "steep_usage_drop" | "recurring_issues", label: string) => (
    <label className="toggle">
      <input type="checkbox" checked={c[k]} onChange={(e) => setC({ ...c, [k]: e.target.checked })} data-testid={`escalation-${k}`} /> {label}
    </label>
  );
  return (
    <section className="card settings-card" data-testid="escalation-settings">
      <h2>Escalation criteria</h2>
      <p className="muted">When an account crosses one, an escalation goes to the executive who owns its risk category, linked to the CSM’s risk CTA. Every criterion needs the ARR floor.</p>
      {flag("enabled", "Escalate automatically")}
      <div className="thresholds">
        {num("severity_threshold", "Severity score at or above")}
        {num("arr_floor", "ARR floor (USD)")}
        {num("quiet_days", "Days a de-escalated account is left alone")}
      </div>
      {flag("strategic_sponsor_lost", "Strategic account whose sponsor left")}
      {flag("steep_usage_drop", "Steep usage drop (High severity signal)")}
      {flag("recurring_issues", "Recurring product issues")}
      {message && (
        <p className={message.ok ? "ok" : "problem"} role="status" data-testid="escalation-message">
          {message.text}
        </p>
      )}
      <div className="actions">
        <button className="button" onClick={save} data-testid="escalation-save">
          Save
        </button>
      </div>
    </section>
  );
}
