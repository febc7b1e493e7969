import { useEffect, useState } from "react";
import type { CtaScope, Triage, TriageGroup } from "../backend";
import { useApp } from "../context";
import { formatDate, formatMoney } from "../format";

const ONE: Record<TriageGroup, string> = {
  at_risk: "at risk",
  detractor: "NPS detractor",
  medium_risk: "medium risk",
  upsell: "upsell candidate",
  unscored: "not enough data to score",
  healthy: "healthy",
};

export const GROUP_LABEL: Record<TriageGroup, string> = {
  at_risk: "At risk",
  detractor: "NPS detractors",
  medium_risk: "Medium risk",
  upsell: "Upsell candidates",
  unscored: "Not enough data",
  healthy: "Healthy",
};

/** Renewals in a window (the next quarter by default), grouped and in one work order. */
export function TriageTab({ scope, onOpenAccount }: { scope: CtaScope; onOpenAccount: (id: string) => void }) {
  const { backend, reportError } = useApp();
  const [window, setWindow] = useState<{ from: string; to: string } | null>(null);
  const [triage, setTriage] = useState<Triage | null>(null);
  const [group, setGroup] = useState<TriageGroup | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    backend
      .renewalTriage(scope, window?.from ?? null, window?.to ?? null)
      .then((t) => {
        if (!live) return;
        setTriage(t);
        setWindow((w) => w ?? { from: t.from, to: t.to });
      })
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, scope, window, reload, reportError]);

  const weighTogether = async (upsell_with_risk: boolean) => {
    try {
      await backend.saveTriageSettings({ upsell_with_risk });
      setReload((n) => n + 1);
    } catch (e) {
      reportError(e);
    }
  };

  if (!triage || !window) return <p className="empty">Loading…</p>;
  const shown = group ? triage.order.filter((i) => i.group === group) : triage.order;
  const total = triage.order.reduce((s, i) => s + i.arr, 0);
  return (
    <>
      <div className="toolbar wrap">
        <span className="muted">Renewing from</span>
        <input type="date" value={window.from} onChange={(e) => e.target.value && setWindow({ ...window, from: e.target.value })} aria-label="From" data-testid="triage-from" />
        <span className="muted">to</span>
        <input type="date" value={window.to} onChange={(e) => e.target.value && setWindow({ ...window, to: e.target.value })} aria-label="To" data-testid="triage-to" />
        <span className="muted" data-testid="triage-summary">
          {triage.order.length} renewals · {formatMoney(Math.round(total * 100), "USD", 2, true)} ARR
        </span>
        <label className="check" title="Off: every renewal with risk comes before any upsell candidate. On: an upsell's expected expansion competes with the revenue at stake.">
          <input
            type="checkbox"
            checked={triage.settings.upsell_with_risk}
            onChange={(e) => weighTogether(e.target.checked)}
            data-testid="triage-upsell-with-risk"
          />
          Weigh upsells against risk
        </label>
      </div>
      <div className="triage-groups" data-testid="triage-groups">
        {triage.groups.map((g) => (
          <button key={g.group} className={`triage-group g-${g.group} ${group === g.group ? "active" : ""}`} onClick={() => setGroup(group === g.group ? null : g.group)} data-testid={`triage-group-${g.group}`}>
            <strong>{g.accounts}</strong>
            <span>{GROUP_LABEL[g.group]}</span>
            <small>{formatMoney(Math.round(g.arr * 100), "USD", 2, true)}</small>
          </button>
        ))}
      </div>
      <section className="card flush">
        <table className="worklist" data-testid="triage-order">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Account</th>
              <th>Group</th>
              <th className="num">ARR</th>
              <th className="num">At stake / expansion</th>
              <th>Renewal</th>
              <th>Why this position</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <tr key={i.account_id} className="line" onClick={() => onOpenAccount(i.account_id)} data-testid="triage-row">
                <td className="num rank">{i.position}</td>
                <td className="name">{i.name}</td>
                <td>
                  <span className={`pill g-${i.group}`}>{GROUP_LABEL[i.group]}</span>
                  {i.also.length > 0 && <small className="muted"> also {i.also.map((g) => ONE[g]).join(", ")}</small>}
                </td>
                <td className="num">{formatMoney(Math.round(i.arr * 100), "USD", 2, true)}</td>
                <td className="num" title={i.likelihood !== null ? `${Math.round(i.likelihood * 100)} % likely lost` : undefined}>
                  {i.value > 0 ? formatMoney(Math.round(i.value * 100), "USD", 2, true) : "—"}
                </td>
                <td>{formatDate(new Date(Date.now() + i.days_to_renewal * 86_400_000).toISOString())}</td>
                <td className="small" title={i.reason}>
                  {i.causes.length > 0 && i.group !== "healthy" && <div className="triage-causes" data-testid="triage-causes">{i.causes.join(" · ")}</div>}
                  <div className="muted">{i.basis}</div>
                  {i.worklist_note && (
                    <small className="worklist-note" data-testid="triage-worklist-note">
                      {i.worklist_note}
                    </small>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
