import { useCallback, useEffect, useState } from "react";
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { AccountHealth, MeasureKind, MeasureResult } from "../backend";
import { useApp } from "../context";
import { formatDate, formatDateTime } from "../format";
import { HealthBadge, TrendMark } from "../components/Health";

/** Health, signals and severity of one account, each with what produced it. */
export function HealthPanel({ accountId, refreshKey = 0 }: { accountId: string; refreshKey?: number }) {
  const { backend, reportError } = useApp();
  const [health, setHealth] = useState<AccountHealth | null>(null);
  const [busy, setBusy] = useState(false);
  const [overriding, setOverriding] = useState<MeasureResult | null>(null);

  useEffect(() => {
    let live = true;
    backend
      .accountHealth(accountId)
      .then((h) => live && setHealth(h))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, accountId, reportError, refreshKey]);

  const run = useCallback(
    async (action: () => Promise<AccountHealth>) => {
      setBusy(true);
      try {
        setHealth(await action());
        return true;
      } catch (e) {
        reportError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [reportError],
  );

  if (!health) return <section className="card span-2 muted">Loading health…</section>;
  const current = health.current;
  const lastScored = health.history.length > 0 ? health.history[health.history.length - 1].day : null;
  const active = health.signals.filter((s) => !s.cleared_at);
  const cleared = health.signals.filter((s) => s.cleared_at);

  return (
    <>
      <section className="card span-2 health-card" data-testid="health-card">
        <div className="health-summary">
          <div>
            <h2>Health</h2>
            <div className="health-big" data-testid="health-score">
              <HealthBadge score={current?.score ?? null} band={current?.band ?? null} color={current?.band_color ?? null} unscored={!!current} />
              {current?.score !== null && (
                <span className="band-name" style={{ color: current?.band_color ?? undefined }}>
                  {current?.band ?? "not scored"}
                </span>
              )}
            </div>
            {current && current.score === null && (
              <p className="problem small" data-testid="not-enough-data">
                Not enough data — {current.coverage.with_data} of {current.coverage.total} measures. Missing: {current.coverage.missing.join(", ")}.
              </p>
            )}
            <p className="muted small">
              {current ? `Scorecard “${current.scorecard_name}” v${current.scorecard_version}` : "No score yet."}
              {/* The day last scored; the row itself is rewritten only when a number moves. */}
              {lastScored ? (
                <span title={health.computed_at ? `unchanged since ${formatDateTime(health.computed_at)}` : undefined}>
                  {" · "}
                  <span className="nowrap">scored {formatDate(lastScored)}</span>
                </span>
              ) : (
                health.computed_at && ` · computed ${formatDateTime(health.computed_at)}`
              )}
            </p>
            <div className="trends">
              {([
                ["7 days", health.trend.days_7],
                ["30 days", health.trend.days_30],
                ["90 days", health.trend.days_90],
              ] as const).map(([label, delta]) => (
                <span key={label} data-testid="health-trend">
                  {label}{" "}
                  {delta === null ? (
                    <span className="trend flat" title={`No score from ${label} ago yet`}>
                      —
                    </span>
                  ) : (
                    <TrendMark delta={delta} label={label} />
                  )}
                </span>
              ))}
            </div>
            <button className="button" disabled={busy} onClick={() => run(() => backend.recomputeAccount(accountId))} data-testid="recompute-account">
              {busy ? "Scoring…" : "Recompute now"}
            </button>
          </div>
          <div className="history-chart" data-testid="health-history">
            {health.history.length < 2 ? (
              <p className="muted">History appears after the second daily score.</p>
            ) : (
              <ResponsiveContainer width="100%" height={180}>
                <LineChart data={health.history.map((p) => ({ day: formatDate(p.day).replace(/, \d{4}$/, ""), Health: Math.round(p.score * 10) / 10 }))}>
                  <CartesianGrid stroke="#e5e7eb" vertical={false} />
                  <XAxis dataKey="day" tick={{ fontSize: 11 }} />
                  <YAxis domain={[0, 100]} tick={{ fontSize: 11 }} width={30} />
                  <ReferenceLine y={50} stroke="#fca5a5" strokeDasharray="3 3" />
                  <ReferenceLine y={75} stroke="#86efac" strokeDasharray="3 3" />
                  <Tooltip />
                  <Line type="linear" dataKey="Health" stroke="#1f3a8a" strokeWidth={2} dot={{ r: 2 }} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            )}
          </div>
        </div>
        {health.changes.length > 0 && (
          <div className="changes" data-testid="health-changes">
            <h3>What changed since {health.previous_day ? formatDate(health.previous_day) : "the previous score"}</h3>
            <ul>
              {health.changes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          </div>
        )}
        {current && (
          <table className="measures" data-testid="measures">
            <thead>
              <tr>
                <th>Measure</th>
                <th>Raw value</th>
                <th className="num">Score</th>
                <th className="num">Weight</th>
                <th className="num">Points</th>
                <th>From</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {current.measures.map((m) => (
                <tr key={m.kind} className={m.score === null ? "missing" : ""}>
                  <td>
                    {m.label}
                    {m.group && <small className="muted"> · {m.group}</small>}
                  </td>
                  <td>{m.raw_display}</td>
                  <td className="num">{m.score === null ? "—" : Math.round(m.score)}</td>
                  <td className="num">{m.weight}</td>
                  <td className="num">{m.score === null ? "—" : m.contribution.toFixed(1)}</td>
                  <td className="source">
                    {m.source.kind === "override" ? (
                      <span className="override-note">
                        <span className="pill pill-key">manual</span> {m.source.comment}
                        {m.source.author && <small className="muted"> — {m.source.author}</small>}
                        {m.source.expires_on && <small className="muted"> (until {formatDate(m.source.expires_on)})</small>}
                      </span>
                    ) : m.source.kind === "missing" ? (
                      <span className="muted">no data: not counted</span>
                    ) : (
                      <span className="muted">{m.evidence}</span>
                    )}
                  </td>
                  <td>
                    <button className="link" onClick={() => setOverriding(m)} data-testid={`override-${m.kind}`}>
                      Override
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <td colSpan={4}>Score = Σ weight × score ÷ Σ weights of measures with data</td>
                <td className="num">{current.score === null ? "—" : current.score.toFixed(1)}</td>
                <td colSpan={2} />
              </tr>
            </tfoot>
          </table>
        )}
        {health.overrides.length > 0 && (
          <div className="overrides">
            <h3>Your team’s judgment</h3>
            <ul className="list">
              {health.overrides.map((o) => (
                <li key={o.id}>
                  <span>
                    <strong>{o.measure.replace(/_/g, " ")}</strong> set to {Math.round(o.score)}: “{o.comment}”
                    <small className="muted">
                      {" "}
                      {o.author ? `by ${o.author}, ` : ""}
                      {formatDate(o.created_at)}
                      {o.expires_on ? `, until ${formatDate(o.expires_on)}` : ""}
                    </small>
                  </span>
                  <button className="link" disabled={busy} onClick={() => run(() => backend.removeOverride(o.id))}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>

      <section className="card" data-testid="signals-card">
        <h2>
          Risk signals <small className="muted">{active.length} active</small>
        </h2>
        {health.signals.length === 0 && <p className="muted">No risk signals.</p>}
        <ul className="list signals" data-testid="signals">
          {[...active, ...cleared].map((s) => (
            <li key={s.id} className={s.cleared_at ? "cleared" : ""}>
              <span>
                <span className={`pill sev-${s.severity}`}>{s.severity}</span> <strong>{s.label}</strong>
                <br />
                <span>{s.summary}</span>
                <small className="muted evidence">{s.evidence.join(" · ")}</small>
                <small className="muted">
                  detected {formatDate(s.detected_at)}
                  {s.cleared_at ? ` · cleared ${formatDate(s.cleared_at)}` : ""}
                </small>
              </span>
            </li>
          ))}
        </ul>
      </section>

      <section className="card" data-testid="severity-card">
        <h2>Severity</h2>
        {health.severity ? (
          <>
            <p className="severity-line">
              <span className={`pill sev-${health.severity.level}`}>{health.severity.level}</span>{" "}
              <strong>{Math.round(health.severity.score)}</strong> <span className="muted">/ 100 · {health.severity.formula}</span>
            </p>
            <table className="measures compact">
              <tbody>
                {health.severity.factors.map((f) => (
                  <tr key={f.name}>
                    <td>{f.name}</td>
                    <td className="num">{Math.round(f.value)}</td>
                    <td className="muted">{f.role}</td>
                    <td>{f.input}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">Risk comes from health and active signals; ARR and time to renewal decide how much it matters.</p>
          </>
        ) : (
          <p className="muted">Not assessed yet.</p>
        )}
      </section>

      {overriding && (
        <OverrideDialog
          measure={overriding}
          busy={busy}
          onCancel={() => setOverriding(null)}
          onSave={async (score, comment, expires) => {
            const ok = await run(() => backend.overrideMeasure(accountId, overriding.kind as MeasureKind, score, comment, expires));
            if (ok) setOverriding(null);
          }}
        />
      )}
    </>
  );
}

function OverrideDialog({
  measure,
  busy,
  onCancel,
  onSave,
}: {
  measure: MeasureResult;
  busy: boolean;
  onCancel: () => void;
  onSave: (score: number, comment: string, expires: string | null) => void;
}) {
  const [score, setScore] = useState(String(Math.round(measure.score ?? 50)));
  const [comment, setComment] = useState("");
  const [expires, setExpires] = useState("");
  const value = Number(score);
  const problem = !comment.trim() ? "Say why: the comment is what makes an override useful." : Number.isNaN(value) || value < 0 || value > 100 ? "The score is 0 to 100." : null;
  return (
    <div className="modal-backdrop">
      <form
        className="modal narrow"
        role="dialog"
        aria-labelledby="override-title"
        data-testid="override-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) onSave(value, comment.trim(), expires || null);
        }}
      >
        <h2 id="override-title">Override “{measure.label}”</h2>
        <p className="muted">
          The data says {measure.raw_display}
          {measure.score !== null ? ` (score ${Math.round(measure.score)})` : ""}. Your score replaces it until you remove it or it expires.
        </p>
        <label className="field">
          <span>Score (0–100)</span>
          <input type="number" min={0} max={100} value={score} onChange={(e) => setScore(e.target.value)} data-testid="override-score" />
        </label>
        <label className="field">
          <span>Why (required)</span>
          <textarea rows={3} value={comment} onChange={(e) => setComment(e.target.value)} data-testid="override-comment" />
        </label>
        <label className="field">
          <span>Expires on (optional)</span>
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        {problem && comment.length > 0 && <p className="error-text">{problem}</p>}
        <div className="actions">
          <button type="button" className="button secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button" disabled={busy || problem !== null} data-testid="override-save">
            Save override
          </button>
        </div>
      </form>
    </div>
  );
}
