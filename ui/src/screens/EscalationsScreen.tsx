import { useCallback, useEffect, useLayoutEffect, useState } from "react";
import type { EscalationOutcome, Refinement, User, WbrItem } from "../backend";
import { BackendError } from "../backend";
import { ExportButtons } from "../components/ExportButtons";
import { useApp } from "../context";
import { formatDate, formatDateTime, formatMoney, todayIso } from "../format";
import { TrendMark } from "../components/Health";
import { RiskUpdateView, UserOptions } from "../components/Shared";

type Tab = "wbr" | "outcomes";

export const ACTION_KINDS: Array<[string, string]> = [
  ["executive_outreach", "Executive outreach"],
  ["product_intervention", "Product intervention"],
  ["commercial_concession", "Commercial concession"],
  ["services", "Services"],
  ["other", "Other"],
];

const OUTCOMES: Array<[EscalationOutcome, string]> = [
  ["saved", "Saved"],
  ["downsell", "Downsell"],
  ["churned", "Churned"],
  ["resolved", "Resolved without leadership"],
];

/** Leadership's view: every open escalation for the weekly business review, and what
 * past escalations teach about the criteria. */
export function EscalationsScreen({ onOpenAccount }: { onOpenAccount: (id: string) => void }) {
  const [tab, setTab] = useState<Tab>("wbr");
  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Escalations</h1>
        <span className="muted">Critical risks in front of leadership: status, agreed actions, decisions and outcomes.</span>
      </div>
      <div className="tabs" role="tablist">
        {(
          [
            ["wbr", "Weekly business review"],
            ["outcomes", "Outcomes and criteria"],
          ] as Array<[Tab, string]>
        ).map(([t, l]) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? "active" : ""} onClick={() => setTab(t)} data-testid={`escalations-tab-${t}`}>
            {l}
          </button>
        ))}
      </div>
      {tab === "wbr" ? <WbrTab onOpenAccount={onOpenAccount} /> : <OutcomesTab />}
    </div>
  );
}

function WbrTab({ onOpenAccount }: { onOpenAccount: (id: string) => void }) {
  const { backend, reportError } = useApp();
  const [items, setItems] = useState<WbrItem[] | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [meeting, setMeeting] = useState(false);
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    backend
      .wbr()
      .then((list) => {
        setItems(list);
        setSelected((s) => (s && list.some((i) => i.cta_id === s) ? s : (list[0]?.cta_id ?? null)));
      })
      .catch(reportError);
  }, [backend, reportError, version]);
  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
  }, [backend, reportError]);

  const index = items ? items.findIndex((i) => i.cta_id === selected) : -1;
  const step = useCallback(
    (by: number) => {
      if (!items || items.length === 0) return;
      const next = items[Math.max(0, Math.min(items.length - 1, index + by))];
      setSelected(next.cta_id);
    },
    [items, index],
  );
  useLayoutEffect(() => {
    if (!meeting) return;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)) return;
      if (e.key === "ArrowRight" || e.key === "j") step(1);
      else if (e.key === "ArrowLeft" || e.key === "k") step(-1);
      else if (e.key === "Escape") setMeeting(false);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [meeting, step]);

  if (!items) return <p className="empty">Loading…</p>;
  const total = items.reduce((s, i) => s + i.arr_base_minor, 0);
  const current = items[index];
  return (
    <>
      <div className="toolbar wrap">
        <span className="muted" data-testid="wbr-summary">
          {items.length} open escalations · {formatMoney(total, "USD", 2, true)} ARR at stake
        </span>
        {items.length > 0 && (
          <button className="button" style={{ marginLeft: "auto" }} onClick={() => setMeeting(!meeting)} data-testid="wbr-mode">
            {meeting ? "Leave WBR mode" : "Start WBR mode"}
          </button>
        )}
        <ExportButtons name="escalations" view={{ view: "escalations" }} />
      </div>
      {items.length === 0 ? (
        <p className="empty">No open escalations.</p>
      ) : meeting && current ? (
        <div className="wbr-meeting" data-testid="wbr-meeting">
          <div className="wbr-nav">
            <button className="button secondary" onClick={() => step(-1)} disabled={index === 0} data-testid="wbr-prev">
              ← Previous
            </button>
            <span data-testid="wbr-position">
              {index + 1} of {items.length}
            </span>
            <button className="button secondary" onClick={() => step(1)} disabled={index === items.length - 1} data-testid="wbr-next">
              Next →
            </button>
          </div>
          <EscalationCard item={current} users={users} onChanged={refresh} onOpenAccount={onOpenAccount} focusDecision />
        </div>
      ) : (
        <div className="wbr-body">
          <section className="card flush wbr-list">
            <table className="worklist" data-testid="wbr-list">
              <thead>
                <tr>
                  <th>Account</th>
                  <th className="num">ARR</th>
                  <th>Severity</th>
                  <th>Category · owner</th>
                  <th className="num">Days open</th>
                </tr>
              </thead>
              <tbody>
                {items.map((i) => (
                  <tr key={i.cta_id} className={i.cta_id === selected ? "line expanded" : "line"} data-testid="wbr-row">
                    <td className="name">
                      <button className="link plain" onClick={() => setSelected(i.cta_id)} data-testid="wbr-account">
                        {i.account_name}
                      </button>
                    </td>
                    <td className="num">{formatMoney(i.arr_base_minor, "USD", 2, true)}</td>
                    <td className="nowrap">
                      {i.severity_level && <span className={`pill sev-${i.severity_level}`}>{Math.round(i.severity_score ?? 0)}</span>} <TrendMark delta={i.trend_30} />
                    </td>
                    <td className="small nowrap">
                      {i.category ?? "uncategorized"}
                      <span className="worklist-note">{i.executive ?? "unassigned"}</span>
                    </td>
                    <td className="num">{i.days_open}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          {current && <EscalationCard item={current} users={users} onChanged={refresh} onOpenAccount={onOpenAccount} />}
        </div>
      )}
    </>
  );
}

function EscalationCard({
  item: i,
  users,
  onChanged,
  onOpenAccount,
  focusDecision = false,
}: {
  item: WbrItem;
  users: User[];
  onChanged: () => void;
  onOpenAccount: (id: string) => void;
  focusDecision?: boolean;
}) {
  const { backend, reportError } = useApp();
  const [decision, setDecision] = useState("");
  const [action, setAction] = useState({ kind: "executive_outreach", description: "", owner: "", due: "" });
  const [closing, setClosing] = useState<"none" | "close" | "de">("none");
  const [outcome, setOutcome] = useState<EscalationOutcome>("saved");
  const [retained, setRetained] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  const act = async (f: () => Promise<unknown>, after?: () => void) => {
    setProblem(null);
    try {
      await f();
      after?.();
      onChanged();
    } catch (e) {
      if (e instanceof BackendError) setProblem(e.message);
      else reportError(e);
    }
  };
  const u = i.update;
  return (
    <section className="card escalation" data-testid="escalation">
      <div className="card-head">
        <h2>
          <button className="link plain" onClick={() => onOpenAccount(i.account_id)} data-testid="escalation-account">
            {i.account_name}
          </button>{" "}
          <small className="muted">{formatMoney(i.arr_base_minor, "USD", 2)} ARR · renews {formatDate(i.renewal_date)}</small>
        </h2>
        {i.severity_level && <span className={`pill sev-${i.severity_level}`}>severity {Math.round(i.severity_score ?? 0)}</span>}
      </div>
      <p className="small">
        <strong>{i.criterion}</strong> — {i.reason}. <span className="muted">Open {i.days_open} days · executive {i.executive ?? "unassigned"} · CSM {i.csm ?? "unassigned"} · category {i.category ?? "uncategorized"}</span>
      </p>
      <h3>Latest weekly update</h3>
      {u ? (
        <RiskUpdateView update={u} testId="escalation-update" />
      ) : (
        <p className="muted small">No weekly update yet.</p>
      )}
      <h3>Agreed actions</h3>
      <ul className="tasks" data-testid="escalation-actions">
        {i.actions.map((a) => (
          <li key={a.id} className={a.done_at ? "done" : undefined}>
            <label>
              <input type="checkbox" checked={a.done_at !== null} onChange={(e) => act(() => backend.setEscalationActionDone(a.id, e.target.checked))} />{" "}
              <span data-testid="task-title">
                {ACTION_KINDS.find(([k]) => k === a.kind)?.[1] ?? a.kind}: {a.description}
              </span>
            </label>{" "}
            <small className="muted">
              {a.owner_name ?? "no owner"}
              {a.due_on ? ` · by ${formatDate(a.due_on)}` : ""}
            </small>
          </li>
        ))}
      </ul>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(
            () => backend.addEscalationAction(i.cta_id, action.kind, action.description, action.owner || null, action.due || null),
            () => setAction({ ...action, description: "" }),
          );
        }}
      >
        <select value={action.kind} onChange={(e) => setAction({ ...action, kind: e.target.value })} aria-label="Action kind">
          {ACTION_KINDS.map(([k, l]) => (
            <option key={k} value={k}>
              {l}
            </option>
          ))}
        </select>
        <input className="grow" placeholder="What was agreed" value={action.description} onChange={(e) => setAction({ ...action, description: e.target.value })} data-testid="action-description" />
        <select value={action.owner} onChange={(e) => setAction({ ...action, owner: e.target.value })} aria-label="Action owner">
          <option value="">Owner…</option>
          <UserOptions users={users} />
        </select>
        <input type="date" value={action.due} min={todayIso()} onChange={(e) => setAction({ ...action, due: e.target.value })} aria-label="Due" />
        <button className="button secondary" disabled={!action.description.trim()} data-testid="action-add">
          Add action
        </button>
      </form>
      <h3>Decisions</h3>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => backend.addEscalationDecision(i.cta_id, decision), () => setDecision(""));
        }}
      >
        <input autoFocus={focusDecision} className="grow" placeholder="Record a decision (Enter)" value={decision} onChange={(e) => setDecision(e.target.value)} data-testid="decision-text" />
        <button className="button secondary" disabled={!decision.trim()} data-testid="decision-add">
          Record
        </button>
      </form>
      <ul className="timeline compact" data-testid="escalation-decisions">
        {i.decisions.map((d) => (
          <li key={d.id}>
            <span className="kind">Decision</span>
            <span className="muted small">
              {formatDateTime(d.decided_at)}
              {d.author_name ? ` · ${d.author_name}` : ""}
            </span>
            <span>{d.text}</span>
          </li>
        ))}
      </ul>
      {problem && (
        <p className="problem" role="alert" data-testid="escalation-problem">
          {problem}
        </p>
      )}
      {closing === "none" && (
        <div className="cta-actions">
          <button className="link" onClick={() => setClosing("close")} data-testid="escalation-close">
            Close with outcome…
          </button>
          <button className="link" onClick={() => setClosing("de")} data-testid="escalation-de">
            De-escalate…
          </button>
        </div>
      )}
      {closing === "close" && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const minor = outcome === "downsell" ? Math.round(Number(retained) * 100) : null;
            void act(() => backend.closeEscalation(i.cta_id, outcome, minor), () => setClosing("none"));
          }}
        >
          <select value={outcome} onChange={(e) => setOutcome(e.target.value as EscalationOutcome)} aria-label="Outcome" data-testid="escalation-outcome">
            {OUTCOMES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
          {outcome === "downsell" && <input type="number" placeholder="ARR kept (USD)" value={retained} onChange={(e) => setRetained(e.target.value)} data-testid="escalation-retained" />}
          <button className="button" data-testid="escalation-close-confirm">
            Close escalation
          </button>
          <button type="button" className="link" onClick={() => setClosing("none")}>
            Cancel
          </button>
        </form>
      )}
      {closing === "de" && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => backend.deEscalate(i.cta_id, reason), () => setClosing("none"));
          }}
        >
          <input className="grow" placeholder="Why leadership is no longer needed" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="de-reason" />
          <button className="button" disabled={!reason.trim()} data-testid="de-confirm">
            De-escalate
          </button>
          <button type="button" className="link" onClick={() => setClosing("none")}>
            Cancel
          </button>
        </form>
      )}
    </section>
  );
}

function OutcomesTab() {
  const { backend, reportError } = useApp();
  const [r, setR] = useState<Refinement | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    backend.escalationRefinement().then(setR).catch(reportError);
  }, [backend, reportError, version]);
  if (!r) return <p className="empty">Loading…</p>;
  const s = r.summary;
  const apply = async () => {
    if (r.suggested_threshold === null) return;
    try {
      const c = await backend.escalationCriteria();
      await backend.saveEscalationCriteria({ ...c, severity_threshold: r.suggested_threshold });
      setMessage(`Severity threshold set to ${r.suggested_threshold}.`);
      setVersion((v) => v + 1);
    } catch (e) {
      reportError(e);
    }
  };
  return (
    <div className="grid">
      <section className="card span-2" data-testid="outcome-summary">
        <dl className="head-stats">
          <div>
            <dt>Closed escalations</dt>
            <dd>{s.mix.total}</dd>
          </div>
          <div>
            <dt>Saved · downsell · churned</dt>
            <dd>
              {s.mix.saved} · {s.mix.downsell} · {s.mix.churned}
            </dd>
          </div>
          <div>
            <dt>Resolved without leadership · de-escalated</dt>
            <dd>
              {s.mix.resolved} · {s.mix.de_escalated}
            </dd>
          </div>
          <div>
            <dt>ARR kept of at stake</dt>
            <dd>
              {formatMoney(s.arr_retained_minor, "USD", 2, true)} / {formatMoney(s.arr_at_stake_minor, "USD", 2, true)}
            </dd>
          </div>
          <div>
            <dt>Days to resolution (median)</dt>
            <dd>{s.median_days_to_resolution ?? "—"}</dd>
          </div>
        </dl>
      </section>
      <section className="card">
        <h2>Outcomes by criterion</h2>
        <table className="measures compact" data-testid="per-criterion">
          <thead>
            <tr>
              <th>Criterion</th>
              <th className="num">All</th>
              <th className="num">Saved</th>
              <th className="num">Down</th>
              <th className="num">Churn</th>
              <th className="num">No leader</th>
              <th className="num">De-esc.</th>
            </tr>
          </thead>
          <tbody>
            {r.per_criterion.map((m) => (
              <tr key={m.label}>
                <td>{m.label}</td>
                <td className="num">{m.total}</td>
                <td className="num">{m.saved}</td>
                <td className="num">{m.downsell}</td>
                <td className="num">{m.churned}</td>
                <td className="num">{m.resolved}</td>
                <td className="num">{m.de_escalated}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>What if the severity threshold were higher?</h2>
        <table className="measures compact" data-testid="what-if">
          <thead>
            <tr>
              <th className="num">Threshold</th>
              <th className="num">Escalations</th>
              <th className="num">Fewer</th>
              <th className="num">…without leadership</th>
              <th className="num">…that needed it</th>
            </tr>
          </thead>
          <tbody>
            {r.what_if.map((w) => (
              <tr key={w.threshold} className={w.threshold === r.suggested_threshold ? "suggested" : undefined}>
                <td className="num">
                  {w.threshold}
                  {w.threshold === r.current_threshold ? " (now)" : ""}
                </td>
                <td className="num">{w.escalations}</td>
                <td className="num">{w.fewer}</td>
                <td className="num">{w.fewer_without_leadership}</td>
                <td className="num">{w.fewer_needing_leadership}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p data-testid="suggestion">{r.suggestion}</p>
        {r.suggested_threshold !== null && (
          <button className="button secondary" onClick={apply} data-testid="apply-suggestion">
            Use {r.suggested_threshold}
          </button>
        )}
        {message && <p className="ok small">{message}</p>}
      </section>
    </div>
  );
}
