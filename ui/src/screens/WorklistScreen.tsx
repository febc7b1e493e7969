import { Fragment, useCallback, useEffect, useState } from "react";
import type { CtaDetail, CtaScope, Level, RiskCategory, Segment, User, WhyHere, WorklistPage, WorklistQuery, WorklistRow } from "../backend";
import { ExportButtons } from "../components/ExportButtons";
import { useApp } from "../context";
import { daysUntil, formatMoney, relativeDays, segmentLabel } from "../format";
import { HealthBadge, TrendMark } from "../components/Health";
import { PriorityOptions, ScopeToggle } from "../components/Shared";
import { CtaView } from "./CtaView";
import { NewCtaForm } from "./NewCtaForm";
import { SIGNAL_KINDS } from "./RuleEditor";
import { defaultScope } from "./CockpitScreen";
import { TriageTab } from "./TriageTab";
import { HuddleTab } from "./HuddleTab";
import { LaneTab } from "./LaneTab";

const PAGE = 100;
const signalLabel = new Map(SIGNAL_KINDS);

type Tab = "ranked" | "triage" | "huddle" | "lane";

type Filters = Omit<WorklistQuery, "scope" | "user_id" | "offset" | "limit">;

/** Where a click on a dashboard figure lands: everyone's worklist, filtered. */
export interface WorklistPreset {
  scope: CtaScope;
  filters: Partial<Filters>;
}

/** The home screen: what to work on today, and why. */
export function WorklistScreen({ onOpenAccount, preset }: { onOpenAccount: (accountId: string) => void; preset?: WorklistPreset }) {
  const { user } = useApp();
  const [tab, setTab] = useState<Tab>("ranked");
  const [scope, setScope] = useState<CtaScope>(() => preset?.scope ?? defaultScope(user));
  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Worklist</h1>
        <span className="muted">Accounts with open risk, ranked by severity, ARR, strategic value, urgency and avoidability.</span>
      </div>
      <div className="toolbar wrap">
        <div className="tabs inline" role="tablist">
          {(
            [
              ["ranked", "Ranked"],
              ["triage", "Renewal triage"],
              ["huddle", "Risk huddle"],
              ["lane", "Tech-touch lane"],
            ] as Array<[Tab, string]>
          ).map(([t, l]) => (
            <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? "active" : ""} onClick={() => setTab(t)} data-testid={`worklist-tab-${t}`}>
              {l}
            </button>
          ))}
        </div>
        {tab !== "lane" && <ScopeToggle value={scope} onChange={setScope} testIdPrefix="worklist-scope" style={{ marginLeft: "auto" }} />}
      </div>
      {!user && scope !== "all" ? (
        <p className="empty">Say who you are in Settings to see your worklist, or look at everyone’s.</p>
      ) : tab === "ranked" ? (
        <RankedTab scope={scope} onOpenAccount={onOpenAccount} initial={preset?.filters} />
      ) : tab === "triage" ? (
        <TriageTab scope={scope} onOpenAccount={onOpenAccount} />
      ) : tab === "huddle" ? (
        <HuddleTab everyone={scope === "all"} onOpenAccount={onOpenAccount} />
      ) : (
        <LaneTab onOpenAccount={onOpenAccount} />
      )}
    </div>
  );
}

function RankedTab({ scope, onOpenAccount, initial }: { scope: CtaScope; onOpenAccount: (accountId: string) => void; initial?: Partial<Filters> }) {
  const { backend, user, currencies, reportError } = useApp();
  const [filters, setFilters] = useState<Filters>(() => ({
    owner_id: null,
    segment: null,
    category: null,
    severity: null,
    renewal_within_days: null,
    flagged_only: false,
    include_digital: false,
    ...initial,
  }));
  const [page, setPage] = useState<WorklistPage | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [categories, setCategories] = useState<RiskCategory[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
    backend.riskCategories().then(setCategories).catch(reportError);
  }, [backend, reportError]);

  const load = useCallback(
    (offset: number) => backend.worklistPage({ ...filters, scope, user_id: null, offset, limit: PAGE }),
    [backend, filters, scope],
  );

  useEffect(() => {
    let live = true;
    load(0)
      .then((p) => live && setPage(p))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [load, reportError, version]);

  const more = async () => {
    if (!page) return;
    try {
      const next = await load(page.rows.length);
      setPage({ ...next, rows: [...page.rows, ...next.rows] });
    } catch (e) {
      reportError(e);
    }
  };
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  // The owners worth offering: the team's CSMs in "My team", everyone's otherwise (and
  // whoever a dashboard click filtered on).
  const csms = users.filter((u) => (u.role === "csm" && (scope !== "team" || u.team_id === user?.team_id)) || u.id === filters.owner_id);

  return (
    <>
      <div className="toolbar wrap">
        {scope !== "mine" && (
          <select value={filters.owner_id ?? ""} onChange={(e) => set({ owner_id: e.target.value || null })} aria-label="Owner" data-testid="worklist-owner">
            <option value="">Any owner</option>
            {user && user.role !== "csm" && <option value="unassigned">Unassigned</option>}
            {csms.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        )}
        <select value={filters.segment ?? ""} onChange={(e) => set({ segment: (e.target.value || null) as Segment | null })} aria-label="Segment">
          <option value="">Any segment</option>
          {(Object.keys(segmentLabel) as Segment[]).map((s) => (
            <option key={s} value={s}>
              {segmentLabel[s]}
            </option>
          ))}
        </select>
        <select value={filters.category ?? ""} onChange={(e) => set({ category: e.target.value || null })} aria-label="Risk category" data-testid="worklist-category">
          <option value="">Any category</option>
          {categories.map((c) => (
            <option key={c.id} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        <select value={filters.severity ?? ""} onChange={(e) => set({ severity: (e.target.value || null) as Level | null })} aria-label="Severity" data-testid="worklist-severity">
          <option value="">Any severity</option>
          <PriorityOptions />
        </select>
        <select
          value={filters.renewal_within_days ?? ""}
          onChange={(e) => set({ renewal_within_days: e.target.value ? Number(e.target.value) : null })}
          aria-label="Renewal window"
          data-testid="worklist-renewal"
        >
          <option value="">Any renewal date</option>
          <option value="30">Renewing within 30 days</option>
          <option value="90">Within 90 days</option>
          <option value="180">Within 180 days</option>
        </select>
        <label className="toggle">
          <input type="checkbox" checked={filters.flagged_only} onChange={(e) => set({ flagged_only: e.target.checked })} /> Flagged
        </label>
        <label className="toggle" title="Accounts below the tech-touch ARR line run on digital playbooks">
          <input type="checkbox" checked={filters.include_digital} onChange={(e) => set({ include_digital: e.target.checked })} /> Include tech-touch
        </label>
        <span className="muted" style={{ marginLeft: "auto" }} data-testid="worklist-count">
          {page ? `${page.total.toLocaleString("en-US")} accounts at risk` : ""}
        </span>
        <ExportButtons name="worklist" view={{ view: "worklist", query: { ...filters, scope, user_id: null, offset: 0, limit: 100 } }} />
      </div>
      <section className="card flush">
        {page === null ? (
          <p className="empty">Loading…</p>
        ) : page.rows.length === 0 ? (
          <p className="empty">No account with open risk matches. Widen the filters, or look at everyone’s.</p>
        ) : (
          <table className="worklist" data-testid="worklist">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Account</th>
                <th className="num">ARR</th>
                <th>Health</th>
                <th>Severity</th>
                <th>Signals</th>
                <th className="num">CTAs</th>
                <th>Renewal</th>
                <th>Owner</th>
                <th className="num">Priority</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((r) => (
                <Fragment key={r.account_id}>
                  <WorklistLine row={r} currencies={currencies} expanded={open === r.account_id} onToggle={() => setOpen(open === r.account_id ? null : r.account_id)} />
                  {open === r.account_id && (
                    <tr className="why-row">
                      <td colSpan={10}>
                        <WhyPanel row={r} onOpenAccount={onOpenAccount} onChanged={() => setVersion((v) => v + 1)} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
        {page && page.rows.length < page.total && (
          <div className="more">
            <button className="button secondary" onClick={more} data-testid="worklist-more">
              Show {Math.min(PAGE, page.total - page.rows.length)} more
            </button>
          </div>
        )}
      </section>
    </>
  );
}

function WorklistLine({ row: r, currencies, expanded, onToggle }: { row: WorklistRow; currencies: Map<string, { minor_digits: number }>; expanded: boolean; onToggle: () => void }) {
  const days = daysUntil(r.renewal_date);
  const digits = currencies.get(r.currency)?.minor_digits ?? 2;
  return (
    <tr className={expanded ? "line expanded" : "line"} onClick={onToggle} data-testid="worklist-row" aria-expanded={expanded}>
      <td className="num rank" data-testid="worklist-rank">
        {r.rank}
      </td>
      <td className="name">
        {r.strategic && <span className="star" title="Strategic account">★</span>}
        <span data-testid="worklist-name">{r.name}</span>
        {r.flagged && <span className="flag on" title="A CTA on it is flagged"> ⚑</span>}
        {r.escalated && (
          <span className="pill sev-high small-pill" data-testid="escalated-pill" title="Open leadership escalation">
            escalated
          </span>
        )}
        {r.category && <span className="pill pill-key small-pill">{r.category}</span>}
        {r.lane === "digital" && <span className="pill small-pill">tech-touch</span>}
      </td>
      <td className="num">{formatMoney(r.arr_minor, r.currency, digits, true)}</td>
      <td className="nowrap">
        <HealthBadge score={r.health} band={r.band} color={r.band_color} /> <TrendMark delta={r.trend_30} />
      </td>
      <td className="nowrap">{r.severity_level ? <span className={`pill sev-${r.severity_level}`}>{r.severity_level} · {Math.round(r.severity_score ?? 0)}</span> : <span className="muted">—</span>}</td>
      <td className="signals-cell small">
        {r.signals.slice(0, 2).map((s) => signalLabel.get(s) ?? s).join(", ")}
        {r.signals.length > 2 && <span className="muted"> +{r.signals.length - 2}</span>}
      </td>
      <td className="num" data-testid="worklist-ctas">
        {r.open_ctas}
      </td>
      <td className={days <= 30 ? "nowrap soon" : "nowrap"}>{relativeDays(days)}</td>
      <td className="muted owner-cell" data-testid="worklist-owner-cell" title={r.owner_name ?? undefined}>
        {r.owner_name ?? "unassigned"}
      </td>
      <td className="num" data-testid="worklist-score">
        {r.score.toFixed(1)}
      </td>
    </tr>
  );
}

type Act = "none" | "cta" | "escalate";

/** "Why is this account here?" and what to do about it, under the row. */
function WhyPanel({ row, onOpenAccount, onChanged }: { row: WorklistRow; onOpenAccount: (id: string) => void; onChanged: () => void }) {
  const { backend, reportError } = useApp();
  const [why, setWhy] = useState<WhyHere | null>(null);
  const [ctas, setCtas] = useState<CtaDetail[] | null>(null);
  const [act, setAct] = useState<Act>("none");
  const [escalation, setEscalation] = useState("");
  const [version, setVersion] = useState(0);

  useEffect(() => {
    backend.whyHere(row.account_id).then(setWhy).catch(reportError);
  }, [backend, row.account_id, reportError]);
  useEffect(() => {
    backend
      .accountCtas(row.account_id)
      .then((list) => setCtas(list.filter((c) => c.cta.status !== "closed")))
      .catch(reportError);
  }, [backend, row.account_id, reportError, version]);

  const changed = () => {
    setVersion((v) => v + 1);
    onChanged();
  };
  const top = ctas?.[0];
  return (
    <div className="why" data-testid="why-here">
      <div className="why-grid">
        <div>
          <h3>Why #{row.rank}</h3>
          {why ? (
            <>
              <table className="measures compact" data-testid="why-factors">
                <tbody>
                  {why.explanation.factors.map((f) => (
                    <tr key={f.factor}>
                      <td>{f.factor}</td>
                      <td className="muted">{f.input}</td>
                      <td className="num">{f.factor === "Severity" ? "" : `×${f.multiplier.toFixed(2)}`}</td>
                      <td className="num">{f.points.toFixed(1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="muted small">
                At risk: {why.explanation.at_risk_reason}. Lane: {why.explanation.lane_reason}.
              </p>
            </>
          ) : (
            <p className="muted">Loading…</p>
          )}
          <div className="cta-actions">
            <button className="link" onClick={() => onOpenAccount(row.account_id)} data-testid="why-open">
              Open account →
            </button>
            <button className="link" onClick={() => setAct("cta")} data-testid="why-new-cta">
              New CTA…
            </button>
            {row.escalated ? (
              <span className="muted small">Escalated to leadership: see Escalations</span>
            ) : (
              <button className="link" onClick={() => setAct("escalate")} data-testid="why-escalate">
                Escalate…
              </button>
            )}
          </div>
        </div>
        <div>
          <h3>{top ? "Top CTA" : "No live CTA"}</h3>
          {top && <CtaView detail={top} onChanged={changed} />}
          {ctas && ctas.length > 1 && <p className="muted small">{ctas.length - 1} more on the account page.</p>}
        </div>
      </div>
      {act === "cta" && (
        <NewCtaForm
          accountId={row.account_id}
          onCancel={() => setAct("none")}
          onCreated={() => {
            setAct("none");
            changed();
          }}
        />
      )}
      {act === "escalate" && (
        <form
          className="inline-form"
          data-testid="escalate-form"
          onSubmit={(e) => {
            e.preventDefault();
            backend
              .escalateAccount(row.account_id, escalation)
              .then(() => {
                setAct("none");
                setEscalation("");
                changed();
              })
              .catch(reportError);
          }}
        >
          <input autoFocus className="grow" placeholder="Why leadership is needed" value={escalation} onChange={(e) => setEscalation(e.target.value)} data-testid="escalate-reason" />
          <button className="button" disabled={!escalation.trim()} data-testid="escalate-confirm">
            Escalate to leadership
          </button>
          <button type="button" className="link" onClick={() => setAct("none")}>
            Cancel
          </button>
        </form>
      )}
    </div>
  );
}
