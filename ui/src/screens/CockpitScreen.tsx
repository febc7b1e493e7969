import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { CockpitQuery, CockpitRow, CtaDetail, CtaScope, CtaStatus, CtaType, Level, User } from "../backend";
import { ExportButtons } from "../components/ExportButtons";
import { useApp } from "../context";
import { isTextEntry } from "../keys";
import { PriorityOptions, ScopeToggle } from "../components/Shared";
import { formatDate, formatMoney, todayIso } from "../format";
import { CtaView, type CtaMode } from "./CtaView";
import { CTA_TYPES, NewCtaForm } from "./NewCtaForm";

/** The list holds at most this many CTAs (the store's limit); filters narrow it. */
const LIMIT = 2_000;

export function defaultScope(user: User | null): CtaScope {
  if (!user) return "all";
  return user.role === "csm" ? "mine" : user.role === "manager" ? "team" : "all";
}

/** "Overdue", "Due today", "This week", "Later" or "No due date", against `today`. */
export function dueBucket(due: string | null, today: string): string {
  if (!due) return "No due date";
  if (due < today) return "Overdue";
  if (due === today) return "Due today";
  const week = new Date(Date.parse(today) + 7 * 86_400_000).toISOString().slice(0, 10);
  return due <= week ? "This week" : "Later";
}

export interface Group {
  priority: Level;
  bucket: string;
  rows: CockpitRow[];
}

/** Rows arrive ordered by priority then due date; consecutive runs form the groups. */
export function groupRows(rows: CockpitRow[], today: string): Group[] {
  const groups: Group[] = [];
  for (const r of rows) {
    const bucket = dueBucket(r.cta.due_on, today);
    const last = groups[groups.length - 1];
    if (last && last.priority === r.cta.priority && last.bucket === bucket) last.rows.push(r);
    else groups.push({ priority: r.cta.priority, bucket, rows: [r] });
  }
  return groups;
}

const SHORTCUTS: Record<string, CtaMode> = { u: "update", l: "log", e: "edit", s: "snooze", c: "close" };

/** My CTAs (my team's for a manager) grouped by priority and due date, with the
 * selected CTA's detail beside them. Keyboard: j/k move, f flag, u update, l log,
 * e edit, s snooze, c close, n new, o open the account, / search. */
export function CockpitScreen({ onOpenAccount }: { onOpenAccount: (accountId: string) => void }) {
  const { backend, user, currencies, reportError } = useApp();
  const [query, setQuery] = useState<CockpitQuery>(() => ({
    scope: defaultScope(user),
    user_id: null,
    cta_type: null,
    priority: null,
    status: null,
    flagged_only: false,
    search: null,
  }));
  const [rows, setRows] = useState<CockpitRow[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<CtaDetail | null>(null);
  const [version, setVersion] = useState(0);
  const [mode, setMode] = useState<CtaMode>("none");
  const [creating, setCreating] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const today = todayIso();

  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      backend
        .cockpitCtas(query)
        .then((list) => {
          if (!live) return;
          setRows(list);
          setSelected((s) => (s && list.some((r) => r.cta.id === s) ? s : (list[0]?.cta.id ?? null)));
        })
        .catch(reportError);
    }, 120);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [backend, query, version, reportError]);

  useEffect(() => {
    if (!selected) {
      setDetail(null);
      return;
    }
    let live = true;
    backend
      .ctaDetail(selected)
      .then((d) => live && setDetail(d))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, selected, version, reportError]);

  const groups = useMemo(() => groupRows(rows ?? [], today), [rows, today]);
  const order = useMemo(() => (rows ?? []).map((r) => r.cta.id), [rows]);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  const move = useCallback(
    (step: number) => {
      if (order.length === 0) return;
      const i = selected ? order.indexOf(selected) : -1;
      const next = order[Math.max(0, Math.min(order.length - 1, i + step))];
      setSelected(next);
      setMode("none");
      // jsdom has no scrollIntoView; WebKit does.
      const el: { scrollIntoView?: (o: ScrollIntoViewOptions) => void } | null = document.querySelector(`[data-cta-row="${next}"]`);
      el?.scrollIntoView?.({ block: "nearest" });
    },
    [order, selected],
  );

  // A layout effect: the listener sees the CTA on screen the moment it is drawn, so a
  // key pressed right after moving acts on the CTA the user sees.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (e.key === "Escape") {
        setMode("none");
        setCreating(false);
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (target && isTextEntry(target)) return;
      if (e.key === "j" || e.key === "ArrowDown") move(1);
      else if (e.key === "k" || e.key === "ArrowUp") move(-1);
      else if (e.key === "/") searchRef.current?.focus();
      else if (e.key === "n") setCreating(true);
      else if (e.key === "o" && detail) onOpenAccount(detail.cta.account_id);
      else if (e.key === "f" && detail && detail.cta.status !== "closed") {
        backend.flagCta(detail.cta.id, !detail.cta.flagged).then(refresh).catch(reportError);
      } else if (SHORTCUTS[e.key] && detail && detail.cta.status !== "closed") setMode(SHORTCUTS[e.key]);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [move, detail, backend, refresh, reportError, onOpenAccount]);

  const set = (patch: Partial<CockpitQuery>) => setQuery((q) => ({ ...q, ...patch }));
  const needsUser = !user && query.scope !== "all";
  // ARR in the base currency: the one whose rate into the base is 1.
  const base = [...currencies.values()].find((c) => c.rate_ppm === 1_000_000);

  return (
    <div className="screen cockpit">
      <div className="screen-head">
        <h1>Cockpit</h1>
        <span className="muted" data-testid="cockpit-count">
          {rows === null ? "" : `${rows.length.toLocaleString("en-US")}${rows.length >= LIMIT ? "+" : ""} CTAs`}
        </span>
        <button className="button" style={{ marginLeft: "auto" }} onClick={() => setCreating(true)} data-testid="new-cta" title="New CTA (n)">
          New CTA
        </button>
      </div>
      <div className="toolbar wrap">
        <ScopeToggle value={query.scope} onChange={(s) => set({ scope: s })} testIdPrefix="scope" />
        <input ref={searchRef} className="search" placeholder="Search account or reason  ( / )" value={query.search ?? ""} onChange={(e) => set({ search: e.target.value || null })} data-testid="cockpit-search" />
        <select value={query.cta_type ?? ""} onChange={(e) => set({ cta_type: (e.target.value || null) as CtaType | null })} aria-label="Type" data-testid="filter-type">
          <option value="">Any type</option>
          {CTA_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <select value={query.priority ?? ""} onChange={(e) => set({ priority: (e.target.value || null) as Level | null })} aria-label="Priority" data-testid="filter-priority">
          <option value="">Any priority</option>
          <PriorityOptions />
        </select>
        <select value={query.status ?? ""} onChange={(e) => set({ status: (e.target.value || null) as CtaStatus | null })} aria-label="Status" data-testid="filter-status">
          <option value="">Live</option>
          <option value="open">Open</option>
          <option value="in_progress">In progress</option>
          <option value="snoozed">Snoozed</option>
          <option value="closed">Closed</option>
        </select>
        <label className="toggle">
          <input type="checkbox" checked={query.flagged_only} onChange={(e) => set({ flagged_only: e.target.checked })} data-testid="filter-flagged" /> Flagged
        </label>
        <ExportButtons name="ctas" push view={{ view: "ctas", query }} />
      </div>
      {creating && (
        <section className="card">
          <h2>New CTA</h2>
          <NewCtaForm
            onCancel={() => setCreating(false)}
            onCreated={(d) => {
              setCreating(false);
              setSelected(d.cta.id);
              refresh();
            }}
          />
        </section>
      )}
      <div className="cockpit-body">
        <div className="cockpit-list" data-testid="cockpit-list">
          {needsUser ? (
            <p className="empty">Say who you are in Settings to see your CTAs.</p>
          ) : rows === null ? (
            <p className="empty">Loading…</p>
          ) : rows.length === 0 ? (
            <p className="empty">No CTAs match. Try “All”, or clear the filters.</p>
          ) : (
            groups.map((g) => (
              <div key={`${g.priority}-${g.bucket}-${g.rows[0].cta.id}`} className="cockpit-group">
                <h3 data-testid="cockpit-group">
                  <span className={`pill sev-${g.priority}`}>{g.priority}</span> {g.bucket} <small className="muted">{g.rows.length}</small>
                </h3>
                <ul>
                  {g.rows.map((r) => (
                    <li key={r.cta.id}>
                      <button
                        className={r.cta.id === selected ? "cockpit-row selected" : "cockpit-row"}
                        data-cta-row={r.cta.id}
                        data-testid="cockpit-row"
                        onClick={() => {
                          setSelected(r.cta.id);
                          setMode("none");
                        }}
                      >
                        <span className="row-main">
                          {r.cta.flagged && <span className="flag on">⚑</span>}
                          <strong data-testid="cockpit-row-account">{r.account_name}</strong>
                          <span className="row-reason">{r.cta.reason}</span>
                        </span>
                        <span className="row-meta muted small">
                          {r.cta.cta_type}
                          {r.cta.status === "snoozed" ? " · snoozed" : r.cta.status === "closed" ? ` · ${r.cta.outcome?.replace(/_/g, " ")}` : ""}
                          {r.cta.due_on ? ` · ${formatDate(r.cta.due_on)}` : ""}
                          {r.tasks_total > 0 ? ` · ${r.tasks_done}/${r.tasks_total} tasks` : ""}
                          {base ? ` · ${formatMoney(r.arr_base_minor, base.currency, base.minor_digits, true)}` : ""}
                          {query.scope !== "mine" && r.owner_name ? ` · ${r.owner_name}` : ""}
                          {!r.owner_name && r.cta.cta_type === "digital" ? " · tech-touch lane (runs itself)" : ""}
                        </span>
                      </button>
                    </li>
                  ))}
                </ul>
              </div>
            ))
          )}
        </div>
        <div className="cockpit-detail" data-testid="cockpit-detail">
          {detail ? (
            <CtaView detail={detail} full onChanged={refresh} mode={mode} onModeChange={setMode} onOpenAccount={onOpenAccount} />
          ) : (
            <p className="empty">Select a CTA to see its tasks, updates and history.</p>
          )}
          <p className="muted small shortcuts">
            <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>f</kbd> flag · <kbd>u</kbd> update · <kbd>l</kbd> log · <kbd>e</kbd> edit · <kbd>s</kbd> snooze · <kbd>c</kbd> close · <kbd>n</kbd> new · <kbd>o</kbd> account · <kbd>/</kbd> search
          </p>
        </div>
      </div>
    </div>
  );
}
