import { useEffect, useState } from "react";
import type { HuddleCsm } from "../backend";
import { useApp } from "../context";
import { formatDate, formatMoney } from "../format";

/** Each CSM's top five at-risk accounts for the bi-weekly huddle, exportable. */
export function HuddleTab({ everyone, onOpenAccount }: { everyone: boolean; onOpenAccount: (id: string) => void }) {
  const { backend, reportError } = useApp();
  const [huddle, setHuddle] = useState<HuddleCsm[] | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    backend
      .riskHuddle(everyone)
      .then((h) => live && setHuddle(h))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, everyone, reportError]);

  const exportIt = async () => {
    try {
      const e = await backend.exportHuddle(everyone);
      setSaved(e.path);
      await navigator.clipboard?.writeText(e.markdown).catch(() => undefined);
    } catch (err) {
      reportError(err);
    }
  };

  if (!huddle) return <p className="empty">Loading…</p>;
  return (
    <>
      <div className="toolbar wrap">
        <span className="muted">{everyone ? "Every CSM" : "Your team"} · top 5 at-risk accounts each, by priority</span>
        <button className="button secondary" style={{ marginLeft: "auto" }} onClick={exportIt} data-testid="huddle-export">
          Export as Markdown
        </button>
      </div>
      {saved && (
        <p className="ok small" data-testid="huddle-saved">
          Saved to {saved} (and copied to the clipboard).
        </p>
      )}
      {huddle.length === 0 && <p className="empty">No CSM has an at-risk account.</p>}
      <div className="huddle">
        {huddle.map((csm) => (
          <section key={csm.owner_id} className="card" data-testid="huddle-csm">
            <h2>{csm.owner_name}</h2>
            <ol className="huddle-list">
              {csm.accounts.map((a) => (
                <li key={a.account_id} data-testid="huddle-account">
                  <button className="link" onClick={() => onOpenAccount(a.account_id)}>
                    <strong>{a.name}</strong>
                  </button>{" "}
                  <span className="muted small">
                    {formatMoney(a.arr_base_minor, "USD", 2, true)} · renews {formatDate(a.renewal_date)}
                  </span>{" "}
                  {a.severity_level && <span className={`pill sev-${a.severity_level}`}>{a.severity_level}</span>}
                  {a.signals.length > 0 && <div className="small">{a.signals.join(" · ")}</div>}
                  {a.update_on ? (
                    <div className="small" data-testid="huddle-next">
                      <span className="muted">Update {formatDate(a.update_on)}:</span> {a.done_so_far ?? a.background ?? ""} <strong>Next:</strong> {a.next_steps ?? "none written"}
                    </div>
                  ) : (
                    <div className="small soon">No weekly update yet</div>
                  )}
                </li>
              ))}
            </ol>
          </section>
        ))}
      </div>
    </>
  );
}
