import { useEffect, useState } from "react";
import type { CtaDetail } from "../backend";
import { useApp } from "../context";
import { formatDate } from "../format";

const OUTCOMES: Array<[string, string]> = [
  ["saved", "Saved"],
  ["downsell", "Downsell"],
  ["churned", "Churned"],
  ["no_longer_relevant", "No longer relevant"],
];

/** The account's work: live CTAs with where they came from, their tasks, close and snooze. */
export function CtasCard({ accountId, refreshKey }: { accountId: string; refreshKey: number }) {
  const { backend, reportError } = useApp();
  const [ctas, setCtas] = useState<CtaDetail[] | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    backend
      .accountCtas(accountId)
      .then((list) => live && setCtas(list))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, accountId, reportError, refreshKey, version]);

  if (!ctas) return <section className="card span-2 muted">Loading CTAs…</section>;
  const open = ctas.filter((c) => c.cta.status !== "closed");
  const closed = ctas.filter((c) => c.cta.status === "closed");
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      setVersion((v) => v + 1);
    } catch (e) {
      reportError(e);
    }
  };

  return (
    <section className="card span-2" data-testid="ctas-card">
      <h2>
        Calls to action <small className="muted">{open.length} open</small>
      </h2>
      {open.length === 0 && <p className="muted">Nothing to do on this account right now.</p>}
      <ul className="ctas">
        {open.map((d) => (
          <CtaItem
            key={d.cta.id}
            detail={d}
            onClose={(o) => act(() => backend.closeCta(d.cta.id, o))}
            onSnooze={(u, r) => act(() => backend.snoozeCta(d.cta.id, u, r))}
            onFlag={(f) => act(() => backend.flagCta(d.cta.id, f))}
            onUpdate={(b, done, next) => act(() => backend.addRiskUpdate(d.cta.id, b, done, next))}
          />
        ))}
      </ul>
      {closed.length > 0 && (
        <p className="muted small">
          Closed: {closed.map((d) => `${d.cta.reason} (${d.cta.outcome?.replace(/_/g, " ")})`).join(" · ")}
        </p>
      )}
    </section>
  );
}

function CtaItem({
  detail: d,
  onClose,
  onSnooze,
  onFlag,
  onUpdate,
}: {
  detail: CtaDetail;
  onClose: (outcome: string) => void;
  onSnooze: (until: string, reason: string) => void;
  onFlag: (flagged: boolean) => void;
  onUpdate: (background: string, doneSoFar: string, nextSteps: string) => void;
}) {
  const [mode, setMode] = useState<"none" | "close" | "snooze" | "update">("none");
  const [update, setUpdate] = useState({ background: "", done: "", next: "" });
  const [outcome, setOutcome] = useState("saved");
  const [until, setUntil] = useState("");
  const [reason, setReason] = useState("");
  const c = d.cta;
  const source = d.rule_name
    ? `Created by rule “${d.rule_name}” on ${formatDate(c.created_at)} because ${c.evidence.slice(1).join("; ")}`
    : `Created by hand on ${formatDate(c.created_at)}`;
  return (
    <li className="cta" data-testid="cta">
      <div className="cta-head">
        <button className={`flag ${c.flagged ? "on" : ""}`} onClick={() => onFlag(!c.flagged)} title={c.flagged ? "Unflag" : "Flag"} data-testid="cta-flag" aria-pressed={c.flagged}>
          {c.flagged ? "⚑" : "⚐"}
        </button>
        <span className={`pill sev-${c.priority}`}>{c.priority}</span>
        <span className="pill">{c.cta_type}</span>
        <strong>{c.reason}</strong>
        {c.status === "snoozed" && <span className="pill">snoozed until {c.snoozed_until ? formatDate(c.snoozed_until) : ""}</span>}
        <span className="muted small cta-due">
          {c.due_on ? `due ${formatDate(c.due_on)}` : ""} {d.owner_name ? `· ${d.owner_name}` : ""}
        </span>
      </div>
      <p className="muted small" data-testid="cta-source">
        {source}
        {c.category ? ` · category ${c.category}` : ""}
      </p>
      {d.tasks.length > 0 && (
        <ul className="tasks">
          {d.tasks.map((t) => (
            <li key={t.id}>
              <span aria-hidden>{t.done_at ? "☑" : "☐"}</span> {t.title} {t.due_on && <small className="muted">by {formatDate(t.due_on)}</small>}
            </li>
          ))}
        </ul>
      )}
      {d.updates[0] && (
        <div className="risk-update" data-testid="cta-latest-update">
          <small className="muted">
            Weekly update {formatDate(d.updates[0].created_at)}
            {d.updates[0].author_name ? ` by ${d.updates[0].author_name}` : ""}
            {d.updates.length > 1 ? ` · ${d.updates.length - 1} earlier` : ""}
          </small>
          {d.updates[0].background && <p><strong>Background:</strong> {d.updates[0].background}</p>}
          {d.updates[0].done_so_far && <p><strong>Done so far:</strong> {d.updates[0].done_so_far}</p>}
          {d.updates[0].next_steps && <p><strong>Next steps:</strong> {d.updates[0].next_steps}</p>}
        </div>
      )}
      {mode === "update" && (
        <form
          className="update-form"
          onSubmit={(e) => {
            e.preventDefault();
            onUpdate(update.background, update.done, update.next);
            setMode("none");
            setUpdate({ background: "", done: "", next: "" });
          }}
        >
          <textarea rows={2} placeholder="Background" value={update.background} onChange={(e) => setUpdate({ ...update, background: e.target.value })} data-testid="update-background" />
          <textarea rows={2} placeholder="What we've done" value={update.done} onChange={(e) => setUpdate({ ...update, done: e.target.value })} />
          <textarea rows={2} placeholder="Next steps" value={update.next} onChange={(e) => setUpdate({ ...update, next: e.target.value })} data-testid="update-next" />
          <div className="actions">
            <button type="button" className="link" onClick={() => setMode("none")}>
              Cancel
            </button>
            <button className="button" disabled={!update.background.trim() && !update.done.trim() && !update.next.trim()} data-testid="update-save">
              Save update
            </button>
          </div>
        </form>
      )}
      {mode === "none" && (
        <div className="cta-actions">
          <button className="link" onClick={() => setMode("update")} data-testid="cta-add-update">
            Weekly update…
          </button>
          <button className="link" onClick={() => setMode("close")} data-testid="cta-close">
            Close…
          </button>
          <button className="link" onClick={() => setMode("snooze")}>
            Snooze…
          </button>
        </div>
      )}
      {mode === "close" && (
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); onClose(outcome); }}>
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)} aria-label="Outcome" data-testid="cta-outcome">
            {OUTCOMES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
          <button className="button" data-testid="cta-close-confirm">
            Close with this outcome
          </button>
          <button type="button" className="link" onClick={() => setMode("none")}>
            Cancel
          </button>
        </form>
      )}
      {mode === "snooze" && (
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); onSnooze(until, reason); }}>
          <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} aria-label="Until" />
          <input className="grow" placeholder="Why it can wait" value={reason} onChange={(e) => setReason(e.target.value)} />
          <button className="button" disabled={!until || !reason.trim()}>
            Snooze
          </button>
          <button type="button" className="link" onClick={() => setMode("none")}>
            Cancel
          </button>
        </form>
      )}
    </li>
  );
}
