import { useEffect, useState } from "react";
import type {
  AppInfo,
  Compaction,
  StoreSize,
  HistoryRetention,
  RecomputeProgress,
  RecomputeSummary,
  SeverityConfig,
  SignalThresholds,
  NotifySettings,
  StageCriteria,
  UpdateCheck,
  User,
} from "../backend";
import { ScorecardEditor } from "./ScorecardEditor";
import { CategorySettings, EscalationSettings, PrioritySettings } from "./PrioritySettings";
import { describeUser, useApp } from "../context";
import { formatBytes, roleLabel } from "../format";
import { groupUsers } from "../components/UserPicker";
import { SyncSettings } from "../components/Sync";
import { PeopleSettings } from "./PeopleSettings";

export type Tab = "you" | "people" | "scorecards" | "signals" | "priority" | "categories" | "escalation" | "recompute" | "sync";

const TABS: Array<[Tab, string]> = [
  ["you", "You"],
  ["people", "People"],
  ["scorecards", "Scorecards"],
  ["signals", "Signals and severity"],
  ["priority", "Priority"],
  ["categories", "Risk categories"],
  ["escalation", "Escalation"],
  ["recompute", "Recompute"],
  ["sync", "Sync"],
];

export function SettingsScreen({ onUserChange, initialTab = "you" }: { onUserChange: (u: User) => void; initialTab?: Tab }) {
  const { backend } = useApp();
  const [tab, setTab] = useState<Tab>(initialTab);
  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Settings</h1>
      </header>
      <nav className="tabs">
        {TABS.map(([id, label]) => (
          <button key={id} className={tab === id ? "active" : ""} onClick={() => setTab(id)} data-testid={`settings-tab-${id}`}>
            {label}
          </button>
        ))}
      </nav>
      {tab === "you" && <YouSettings onUserChange={onUserChange} />}
      {tab === "people" && <PeopleSettings />}
      {tab === "scorecards" && <ScorecardEditor />}
      {tab === "signals" && (
        <>
          <NumbersForm<SignalThresholds>
            title="When a risk signal fires"
            fields={THRESHOLD_FIELDS}
            load={() => backend.signalThresholds()}
            save={(v) => backend.saveSignalThresholds(v)}
            testId="thresholds"
          />
          <NumbersForm<SeverityConfig>
            title="Severity"
            note="Severity = risk × impact. Risk mixes poor health and active signals; impact grows with ARR and a nearer renewal."
            fields={SEVERITY_FIELDS}
            load={() => backend.severityConfig()}
            save={(v) => backend.saveSeverityConfig(v)}
            testId="severity"
          />
          <NumbersForm<StageCriteria>
            title="Lifecycle stages"
            note="The daily recompute moves each account's stage: adopted once seat utilization holds at the share for the weeks below (kept from then on), mature some days after adoption, renewal while the renewal date is near. A stage from an imported file stands until the data moves it."
            fields={STAGE_FIELDS}
            load={() => backend.stageCriteria()}
            save={(v) => backend.saveStageCriteria(v)}
            testId="stages"
          />
        </>
      )}
      {tab === "priority" && <PrioritySettings />}
      {tab === "categories" && <CategorySettings />}
      {tab === "escalation" && <EscalationSettings />}
      {tab === "recompute" && (
        <>
          <RecomputePanel />
          <NumbersForm<HistoryRetention>
            title="Score history"
            note="Every day's score is kept for the days below, then one a week (the week's first), then one a month. Trends and the health-drop signal read the last 90 days, so daily history keeps at least that."
            fields={RETENTION_FIELDS}
            load={() => backend.historyRetention()}
            save={(v) => backend.saveHistoryRetention(v)}
            testId="retention"
          />
        </>
      )}
      {tab === "sync" && <SyncSettings />}
    </div>
  );
}

const THRESHOLD_FIELDS: Array<[keyof SignalThresholds, string]> = [
  ["usage_drop_pct", "Usage drop: active users down at least (%)"],
  ["tickets_rising_count", "Unresolved tickets opened in 28 days, at least"],
  ["stakeholder_lookback_days", "Sponsor or champion left within (days)"],
  ["recurring_issue_count", "Tickets of one product category in 60 days, at least"],
  ["detractor_lookback_days", "Detractor response within (days)"],
  ["implementation_days", "Not adopted after the contract date (days)"],
  ["health_drop_pct", "Health drop of at least (%)"],
  ["health_drop_window_days", "… over (days)"],
  ["renewal_window_days", "Renewal within (days) with health below the top band"],
];

const STAGE_FIELDS: Array<[keyof StageCriteria, string]> = [
  ["adopt_seat_pct", "Adopted at seat utilization of at least (%)"],
  ["adopt_weeks", "… for consecutive weeks"],
  ["mature_after_days", "Mature after adoption (days)"],
  ["renewal_window_days", "Renewal stage from (days before renewal)"],
];

const RETENTION_FIELDS: Array<[keyof HistoryRetention, string]> = [
  ["daily_days", "Keep every day's score for (days)"],
  ["weekly_days", "Then one a week until (days old); one a month after"],
];

const SEVERITY_FIELDS: Array<[keyof SeverityConfig, string]> = [
  ["health_weight", "Share of risk from poor health (0–1; the rest from signals)"],
  ["high_signal_points", "Risk points per High signal"],
  ["medium_signal_points", "Risk points per Medium signal"],
  ["low_signal_points", "Risk points per Low signal"],
  ["high_at", "High from severity score"],
  ["medium_at", "Medium from severity score"],
];

/** A form of numeric settings, validated by the Rust side on save. */
function NumbersForm<T extends object>({
  title,
  note,
  fields,
  load,
  save,
  testId,
}: {
  title: string;
  note?: string;
  fields: Array<[keyof T, string]>;
  load: () => Promise<T>;
  save: (value: T) => Promise<T>;
  testId: string;
}) {
  const { reportError } = useApp();
  const [values, setValues] = useState<Record<string, string> | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    // A load that throws at once is reported like one that fails later, never a blank app.
    Promise.resolve()
      .then(load)
      .then((t) => setValues(Object.fromEntries(fields.map(([k]) => [String(k), String(t[k])]))))
      .catch(reportError);
    // Load once per mount; `load` and `fields` are fixed for a form.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reportError]);

  if (!values) return <p className="muted">Loading…</p>;
  const submit = async () => {
    const bad = fields.find(([k]) => values[String(k)].trim() === "" || Number.isNaN(Number(values[String(k)])));
    if (bad) {
      setMessage({ ok: false, text: `${bad[1]}: not a number` });
      return;
    }
    try {
      await save(Object.fromEntries(fields.map(([k]) => [k, Number(values[String(k)])])) as T);
      setMessage({ ok: true, text: "Saved. It applies from the next recompute." });
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <section className="card">
      <h2>{title}</h2>
      {note && <p className="muted">{note}</p>}
      <div className="thresholds">
        {fields.map(([k, label]) => (
          <label key={String(k)} className="field">
            <span>{label}</span>
            <input value={values[String(k)]} onChange={(e) => setValues({ ...values, [String(k)]: e.target.value })} data-testid={`${testId}-${String(k)}`} />
          </label>
        ))}
      </div>
      {message && (
        <p className={message.ok ? "ok" : "error-text"} data-testid={`${testId}-message`}>
          {message.text}
        </p>
      )}
      <div className="actions">
        <button className="button" onClick={submit} data-testid={`${testId}-save`}>
          Save
        </button>
      </div>
    </section>
  );
}

function RecomputePanel() {
  const { backend, reportError } = useApp();
  const [last, setLast] = useState<string | null>(null);
  const [progress, setProgress] = useState<RecomputeProgress | null>(null);
  const [result, setResult] = useState<RecomputeSummary | null>(null);

  useEffect(() => {
    backend.lastRecomputeDay().then(setLast).catch(reportError);
  }, [backend, reportError]);

  const run = async () => {
    setResult(null);
    setProgress({ done: 0, total: 0 });
    try {
      setResult(await backend.recomputeAll(setProgress));
      setLast(await backend.lastRecomputeDay());
    } catch (e) {
      reportError(e);
    } finally {
      setProgress(null);
    }
  };
  const pct = progress && progress.total > 0 ? (progress.done / progress.total) * 100 : 0;
  return (
    <section className="card settings-card" data-testid="recompute-panel">
      <h2>Recompute health, signals and severity</h2>
      <p className="muted">
        Scores update by themselves for an account whose data changes, and for the whole book once a day. Run it by hand after
        changing a scorecard or a threshold. {last && `Last full day scored: ${last}.`}
      </p>
      {progress ? (
        <div data-testid="recompute-progress">
          <div className="progress">
            <div style={{ width: `${pct}%` }} />
          </div>
          <p className="muted">
            {progress.done.toLocaleString("en-US")} of {progress.total.toLocaleString("en-US")} accounts
          </p>
        </div>
      ) : (
        <button className="button" onClick={run} data-testid="recompute-all">
          Recompute all accounts
        </button>
      )}
      {result && (
        <p className="ok" data-testid="recompute-result">
          {result.unchanged > 0 && (
            <>
              {result.unchanged.toLocaleString("en-US")} accounts are unchanged since today's refresh (nothing they depend on changed).{" "}
            </>
          )}
          Scored {result.scored.toLocaleString("en-US")} of {result.accounts.toLocaleString("en-US")} accounts
          {result.unchanged > 0 ? " whose data or work changed" : ""} in {(result.duration_ms / 1000).toFixed(1)} s ·{" "}
          {result.signals_raised} signals raised, {result.signals_cleared} cleared{result.stages_moved > 0 && ` · ${result.stages_moved} stages moved`}.
        </p>
      )}
    </section>
  );
}

const NOTICES: Array<[keyof NotifySettings, string]> = [
  ["escalations", "A new escalation on one of my accounts"],
  ["assigned", "A CTA someone else gave me"],
  ["due_today", "Once a day: how many of my CTAs are due today"],
];

/** Which desktop notifications this device shows (none while Riskdesk is in front). */
export function NotificationsCard() {
  const { backend, reportError } = useApp();
  const [s, setS] = useState<NotifySettings | null>(null);
  useEffect(() => {
    backend.notifySettings().then(setS).catch(reportError);
  }, [backend, reportError]);
  const toggle = (key: keyof NotifySettings, on: boolean) => {
    if (!s) return;
    const next = { ...s, [key]: on };
    setS(next);
    backend.saveNotifySettings(next).then(setS).catch(reportError);
  };
  // The card is there at its full height before the settings arrive (its boxes off until
  // then): appearing late, it pushed the cards under it down as the user clicked them.
  return (
    <section className="card settings-card" data-testid="notifications-card" aria-busy={!s}>
      <h2>Notifications</h2>
      <p className="muted">Shown by your desktop while Riskdesk is open but not in front, unless your system has notifications for it turned off.</p>
      <div className="check-list">
        {NOTICES.map(([key, label]) => (
          <label key={key} className="check">
            <input type="checkbox" checked={s?.[key] ?? false} disabled={!s} onChange={(e) => toggle(key, e.target.checked)} data-testid={`notify-${key}`} />
            {label}
          </label>
        ))}
      </div>
    </section>
  );
}

/** Self-hosted updates: asked of the team's own server, verified before they are offered. */
export function UpdatesCard() {
  const { backend } = useApp();
  const [checking, setChecking] = useState(false);
  const [result, setResult] = useState<UpdateCheck | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const check = async () => {
    setChecking(true);
    setProblem(null);
    setResult(null);
    try {
      setResult(await backend.checkForUpdate());
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    } finally {
      setChecking(false);
    }
  };
  const install = async () => {
    try {
      await backend.installUpdate();
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="card settings-card" data-testid="updates-card">
      <h2>Updates</h2>
      <p className="muted">New versions come from your team's own Riskdesk server (the one you sync with), signed; the app checks the signature before it offers one.</p>
      <button className="button secondary" onClick={check} disabled={checking} data-testid="update-check">
        {checking ? "Checking…" : "Check for updates"}
      </button>
      {problem && (
        <p className="problem" data-testid="update-problem">
          {problem}
        </p>
      )}
      {result && !result.server && (
        <p className="muted" data-testid="update-result">
          Riskdesk {result.current} has no update server: connect to your team's server in Settings › Sync to get updates.
        </p>
      )}
      {result?.server && !result.available && (
        <p className="ok" data-testid="update-result">
          Riskdesk {result.current} is up to date ({result.server}).
        </p>
      )}
      {result?.available && (
        <div data-testid="update-result">
          <p className="ok">
            Riskdesk {result.available.version} is available (you have {result.current}); it is downloaded and its signature checks out.
          </p>
          {result.available.notes && <p className="muted">{result.available.notes}</p>}
          <button className="button" onClick={install} data-testid="update-install">
            Install and restart
          </button>
        </div>
      )}
    </section>
  );
}

function YouSettings({ onUserChange }: { onUserChange: (u: User) => void }) {
  const { backend, user, teams, reportError } = useApp();
  const [users, setUsers] = useState<User[]>([]);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
    backend.appInfo().then(setInfo).catch(reportError);
  }, [backend, reportError]);

  const change = async (id: string) => {
    setSaved(false);
    try {
      onUserChange(await backend.setCurrentUser(id));
      setSaved(true);
    } catch (e) {
      reportError(e);
    }
  };

  return (
    <>
      <section className="card settings-card">
        <h2>You</h2>
        <p className="muted">Who is using Riskdesk on this device. “My” views and worklists follow this choice.</p>
        <label className="field">
          <span>Signed in as</span>
          <select value={user?.id ?? ""} onChange={(e) => change(e.target.value)} data-testid="settings-user">
            {!user && <option value="">Choose…</option>}
            {groupUsers(users).map(([label, list]) => (
              <optgroup key={label} label={label}>
                {list.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} — {roleLabel[u.role]}, {describeUser(u, teams)}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        {saved && <p className="ok">Saved.</p>}
      </section>
      <NotificationsCard />
      <UpdatesCard />
      <AboutStore info={info} />
    </>
  );
}

/** Where the store is and how big, with compacting when deleted history left free space. */
function AboutStore({ info }: { info: AppInfo | null }) {
  const { backend, reportError } = useApp();
  const [size, setSize] = useState<StoreSize | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Compaction | null>(null);

  useEffect(() => {
    backend.storeSize().then(setSize).catch(reportError);
  }, [backend, reportError]);

  const compact = async () => {
    setBusy(true);
    try {
      const c = await backend.compactStore();
      setDone(c);
      setSize(c.after);
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card settings-card" data-testid="store-space">
      <h2>About this store</h2>
      <dl className="fields">
        {info && (
          <>
            <dt>Version</dt>
            <dd>{info.version}</dd>
            <dt>Database</dt>
            <dd>
              <code>{info.database_path}</code>
            </dd>
            <dt>Accounts</dt>
            <dd>{info.accounts.toLocaleString("en-US")}</dd>
          </>
        )}
        {size && (
          <>
            <dt>Size on disk</dt>
            <dd>
              <span data-testid="store-size">{formatBytes(size.bytes)}</span>
              {size.free_bytes > 0 && <span className="muted"> — {formatBytes(size.free_bytes)} of it is free space, left by deleted history and data</span>}
            </dd>
          </>
        )}
      </dl>
      {size && size.free_bytes > 0 && (
        <>
          <p className="muted">
            Compacting gives the free space back to the disk. It takes about as long as copying the file, needs that much
            free disk space while it runs, and Riskdesk waits for it.
          </p>
          <button className="button secondary" onClick={compact} disabled={busy} data-testid="store-compact">
            {busy ? "Compacting…" : "Compact the store"}
          </button>
        </>
      )}
      {done && (
        <p className="ok" data-testid="store-compacted">
          Compacted from {formatBytes(done.before.bytes)} to {formatBytes(done.after.bytes)} in {(done.millis / 1000).toFixed(1)} s.
        </p>
      )}
    </section>
  );
}
