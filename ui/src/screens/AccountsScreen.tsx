import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { AccountRow, AccountSort, Segment, User } from "../backend";
import { ExportButtons } from "../components/ExportButtons";
import { useApp } from "../context";
import { PageCache } from "../pageCache";
import { daysUntil, formatDate, formatMoney, relativeDays, segmentLabel, stageLabel } from "../format";
import { HealthBadge, TrendMark } from "../components/Health";

export interface AccountsView {
  search: string;
  sort: AccountSort;
  descending: boolean;
  segment: Segment | null;
  mineOnly: boolean;
  /** Accounts nobody owns (an import's unknown owners): a manager's view. */
  unassignedOnly?: boolean;
  scrollTop: number;
}

export const DEFAULT_ACCOUNTS_VIEW: AccountsView = {
  search: "",
  sort: "arr",
  descending: true,
  segment: null,
  mineOnly: false,
  scrollTop: 0,
};

const ROW_HEIGHT = 40;

const COLUMNS: Array<{ sort: AccountSort | null; label: string; numeric?: boolean; title?: string }> = [
  { sort: "name", label: "Account" },
  { sort: "arr", label: "ARR", numeric: true },
  { sort: "health", label: "Health" },
  { sort: null, label: "Data", title: "Of the scorecard's measures, how many have data" },
  { sort: "severity", label: "Severity" },
  { sort: "segment", label: "Segment" },
  { sort: "stage", label: "Stage" },
  { sort: "renewal", label: "Renewal" },
  { sort: "owner", label: "Owner" },
];

/** Waits until typing pauses before the value is used for a query. */
function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

export function AccountsScreen({
  view,
  onViewChange,
  onOpen,
}: {
  view: AccountsView;
  onViewChange: (v: AccountsView) => void;
  onOpen: (accountId: string) => void;
}) {
  const { backend, user, currencies, reportError } = useApp();
  const [search, setSearch] = useState(view.search);
  const debouncedSearch = useDebounced(search, 200);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const scrollRef = useRef<HTMLDivElement>(null);
  const ownerId = view.unassignedOnly ? "unassigned" : view.mineOnly && user ? user.id : null;
  const manages = !!user && user.role !== "csm";
  const [people, setPeople] = useState<User[]>([]);
  // Bumped after a write (an assignment), so the table asks again.
  const [generation, reload] = useReducer((n: number) => n + 1, 0);
  const [assignee, setAssignee] = useState("");
  const [assigning, setAssigning] = useState(false);
  useEffect(() => {
    if (manages && view.unassignedOnly) backend.listUsers().then(setPeople).catch(reportError);
  }, [backend, manages, view.unassignedOnly, reportError]);

  useEffect(() => {
    if (debouncedSearch !== view.search) onViewChange({ ...view, search: debouncedSearch, scrollTop: 0 });
  }, [debouncedSearch, view, onViewChange]);

  // A new cache for every query: stale blocks can never show under a new sort or filter.
  const cache = useMemo(
    () =>
      new PageCache<AccountRow>((offset, limit) =>
        backend.queryAccounts({
          search: view.search || null,
          owner_id: ownerId,
          segment: view.segment,
          stage: null,
          sort: view.sort,
          descending: view.descending,
          offset,
          limit,
        }),
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `generation` only forces a fresh cache
    [backend, view.search, view.sort, view.descending, view.segment, ownerId, generation],
  );

  useEffect(() => {
    const unsubscribe = cache.subscribe(() => {
      if (cache.error) reportError(cache.error);
      rerender();
    });
    void cache.ensure(0, 100);
    return () => {
      unsubscribe();
      cache.dispose();
    };
  }, [cache, reportError]);

  const total = cache.total ?? 0;
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    initialOffset: view.scrollTop,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    if (total > 0) void cache.ensure(first, last + 1);
  }, [cache, first, last, total]);

  const toggleSort = (sort: AccountSort) => {
    const descending = view.sort === sort ? !view.descending : sort === "arr";
    onViewChange({ ...view, sort, descending, scrollTop: 0 });
    scrollRef.current?.scrollTo({ top: 0 });
  };

  const open = (id: string) => {
    onViewChange({ ...view, search, scrollTop: scrollRef.current?.scrollTop ?? 0 });
    onOpen(id);
  };

  return (
    <div className="screen accounts-screen">
      <header className="screen-head">
        <h1>Accounts</h1>
        <span className="muted" data-testid="account-count">
          {cache.total === null ? "Loading…" : `${total.toLocaleString("en-US")} ${total === 1 ? "account" : "accounts"}`}
        </span>
      </header>
      <div className="toolbar">
        <input
          className="search"
          type="search"
          placeholder="Search by name or CRM id"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          aria-label="Search accounts"
          data-testid="account-search"
          autoFocus
        />
        <select
          value={view.segment ?? ""}
          onChange={(e) => onViewChange({ ...view, segment: (e.target.value || null) as Segment | null, scrollTop: 0 })}
          aria-label="Segment"
          data-testid="segment-filter"
        >
          <option value="">All segments</option>
          {(Object.keys(segmentLabel) as Segment[]).map((s) => (
            <option key={s} value={s}>
              {segmentLabel[s]}
            </option>
          ))}
        </select>
        {user && (
          <label className="toggle">
            <input type="checkbox" checked={view.mineOnly} onChange={(e) => onViewChange({ ...view, mineOnly: e.target.checked, scrollTop: 0 })} />
            My accounts only
          </label>
        )}
        {manages && (
          <label className="toggle">
            <input
              type="checkbox"
              checked={!!view.unassignedOnly}
              onChange={(e) => onViewChange({ ...view, unassignedOnly: e.target.checked, mineOnly: false, scrollTop: 0 })}
              data-testid="unassigned-filter"
            />
            Unassigned only
          </label>
        )}
        {manages && view.unassignedOnly && (cache.total ?? 0) > 0 && (
          <span className="assign-bar">
            <select value={assignee} onChange={(e) => setAssignee(e.target.value)} aria-label="Assign to" data-testid="assign-to">
              <option value="">Assign these {(cache.total ?? 0).toLocaleString("en-US")} to…</option>
              {people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            <button
              className="button"
              disabled={!assignee || assigning}
              data-testid="assign-accounts"
              onClick={() => {
                setAssigning(true);
                backend
                  .assignAccounts({ search: view.search || null, owner_id: "unassigned", segment: view.segment, stage: null, sort: view.sort, descending: view.descending, offset: 0, limit: 1 }, assignee)
                  .then(() => {
                    setAssignee("");
                    reload();
                  })
                  .catch(reportError)
                  .finally(() => setAssigning(false));
              }}
            >
              {assigning ? "Assigning…" : "Assign"}
            </button>
          </span>
        )}
        <ExportButtons
          name="accounts"
          push
          view={{
            view: "accounts",
            query: { search: view.search || null, owner_id: ownerId, segment: view.segment, stage: null, sort: view.sort, descending: view.descending, offset: 0, limit: 100 },
          }}
        />
      </div>
      <div className="table" role="table" aria-label="Accounts" aria-rowcount={total}>
        <div className="table-row table-head" role="row">
          {COLUMNS.map((c) => {
            const sort = c.sort;
            if (sort === null) {
              return (
                <div key={c.label} role="columnheader" className="cell" title={c.title}>
                  {c.label}
                </div>
              );
            }
            return (
            <button
              key={sort}
              role="columnheader"
              className={`cell ${c.numeric ? "num" : ""} ${view.sort === sort ? "sorted" : ""}`}
              onClick={() => toggleSort(sort)}
              aria-sort={view.sort === sort ? (view.descending ? "descending" : "ascending") : "none"}
              data-testid={`sort-${sort}`}
            >
              {c.label}
              <span className="sort-mark" aria-hidden>
                {view.sort === sort ? (view.descending ? "▼" : "▲") : ""}
              </span>
            </button>
            );
          })}
        </div>
        <div className="table-body" ref={scrollRef} data-testid="accounts-table">
          {cache.total === 0 && <div className="empty">No accounts match “{view.search}”.</div>}
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = cache.get(item.index);
              return (
                <div
                  key={item.key}
                  role="row"
                  className="table-row body-row"
                  style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                  onClick={row ? () => open(row.id) : undefined}
                  onKeyDown={row ? (e) => e.key === "Enter" && open(row.id) : undefined}
                  tabIndex={row ? 0 : -1}
                  data-testid={row ? "account-row" : "account-row-loading"}
                >
                  {row ? <Cells row={row} digits={currencies.get(row.currency)?.minor_digits ?? 2} /> : <div className="cell loading">Loading…</div>}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}

function Cells({ row, digits }: { row: AccountRow; digits: number }) {
  const days = daysUntil(row.renewal_date);
  return (
    <>
      <div className="cell name" role="cell" data-testid="account-name" title={row.name}>
        {row.strategic && (
          <span className="star" title="Strategic account">
            ★
          </span>
        )}
        {row.name}
      </div>
      <div className="cell num" role="cell">
        {formatMoney(row.arr_minor, row.currency, digits)}
      </div>
      <div className="cell" role="cell" data-testid="account-health">
        <HealthBadge score={row.health} band={row.band} color={row.band_color} unscored={row.measures_total !== null} />
        <TrendMark delta={row.trend_30} />
      </div>
      <div className="cell" role="cell" data-testid="account-coverage">
        {row.measures_total ? (
          <span className={row.health === null ? "soon" : "muted"} title={row.health === null ? "Not enough data for a score" : undefined}>
            {row.measures_with_data} of {row.measures_total}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      <div className="cell" role="cell">
        {row.severity_level ? (
          <span className={`pill sev-${row.severity_level}`} title={`Severity score ${Math.round(row.severity_score ?? 0)}`}>
            {row.severity_level} · {Math.round(row.severity_score ?? 0)}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      <div className="cell" role="cell">
        <span className={`pill seg-${row.segment}`}>{segmentLabel[row.segment]}</span>
      </div>
      <div className="cell" role="cell">
        {stageLabel[row.stage]}
      </div>
      <div className="cell" role="cell">
        {formatDate(row.renewal_date)} <span className={days <= 90 ? "soon" : "muted"}>{relativeDays(days)}</span>
      </div>
      <div className="cell" role="cell" data-testid="account-owner" title={row.owner_name ?? undefined}>
        {row.owner_name ?? <span className="muted">Unassigned</span>}
      </div>
    </>
  );
}
