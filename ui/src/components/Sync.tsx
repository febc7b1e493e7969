// Sync: the status line in the sidebar and the Settings › Sync tab.
import { useCallback, useEffect, useState } from "react";
import type { ConflictView, SetAside, SyncProgress, SyncReport, SyncStatus } from "../backend";
import { useApp } from "../context";
import { ProgressBar } from "./ProgressBar";

function ago(iso: string | null): string {
  if (!iso) return "never";
  const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 24 ? `${hours} h ago` : new Date(iso).toLocaleDateString();
}

/** Dispatched on `window` when a sync from Settings ends. */
export const SYNCED = "riskdesk-synced";

const INTERVALS: Array<[number, string]> = [
  [15, "15 seconds"],
  [30, "30 seconds"],
  [60, "minute"],
  [300, "5 minutes"],
  [900, "15 minutes"],
  [3600, "hour"],
];

function every(seconds: number): string {
  const known = INTERVALS.find(([s]) => s === seconds);
  return known ? known[1] : `${seconds} seconds`;
}

/** How long after the user's last click or Enter the status is asked again: an edit they
 * just saved shows as pending then, not at the next poll. */
export const AFTER_ACTION_MS = 700;

/** Polls the sync status; `refresh` asks again at once. */
export function useSyncStatus(everyMs = 15_000) {
  const { backend } = useApp();
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const refresh = useCallback(() => {
    backend
      .syncStatus()
      .then(setStatus)
      .catch(() => setStatus(null));
  }, [backend]);
  useEffect(() => {
    refresh();
    const t = setInterval(refresh, everyMs);
    // A sync from Settings updates the status bar at once.
    window.addEventListener(SYNCED, refresh);
    // Every edit starts with a click or an Enter; one ask after the last of a burst.
    let soon: ReturnType<typeof setTimeout> | undefined;
    const afterAction = (e: Event) => {
      if (e instanceof KeyboardEvent && e.key !== "Enter") return;
      clearTimeout(soon);
      soon = setTimeout(refresh, AFTER_ACTION_MS);
    };
    window.addEventListener("click", afterAction, true);
    window.addEventListener("keyup", afterAction, true);
    return () => {
      clearInterval(t);
      clearTimeout(soon);
      window.removeEventListener(SYNCED, refresh);
      window.removeEventListener("click", afterAction, true);
      window.removeEventListener("keyup", afterAction, true);
    };
  }, [refresh, everyMs]);
  return { status, refresh };
}

export function SyncStatusLine({ onOpen }: { onOpen: () => void }) {
  const { status } = useSyncStatus();
  if (!status) return null;
  const online = status.connected && !status.last_error;
  const text = !status.connected
    ? "Not syncing"
    : status.last_error
      ? `Offline · ${status.pending} pending`
      : `Synced ${ago(status.last_synced_at)}${status.pending ? ` · ${status.pending} pending` : ""}`;
  return (
    <button className="sync-line" onClick={onOpen} title={status.last_error ?? status.server_url ?? "Connect to a sync server in Settings › Sync"} data-testid="sync-status">
      <span className={online ? "dot good" : status.connected ? "dot bad" : "dot"} aria-hidden />
      {text}
      {status.unseen_conflicts > 0 && <span className="small-pill pill-bad">{status.unseen_conflicts} lost edits</span>}
      {status.set_aside > 0 && <span className="small-pill pill-warn">{status.set_aside} set aside</span>}
    </button>
  );
}

export function SyncSettings() {
  const { backend, reportError } = useApp();
  const { status } = useSyncStatus(5_000);
  const [url, setUrl] = useState("https://");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [invite, setInvite] = useState(false);
  const [code, setCode] = useState("");
  const [share, setShare] = useState(false);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<SyncProgress | null>(null);
  const [report, setReport] = useState<SyncReport | null>(null);
  const [conflicts, setConflicts] = useState<ConflictView[]>([]);
  const [aside, setAside] = useState<SetAside[]>([]);

  useEffect(() => {
    if (status?.connected) backend.syncConflicts().then(setConflicts).catch(reportError);
  }, [backend, reportError, status?.connected]);
  useEffect(() => {
    if (status?.connected) backend.syncSetAside().then(setAside).catch(reportError);
  }, [backend, reportError, status?.connected, status?.set_aside, status?.last_synced_at]);

  const run = (p: Promise<SyncReport>) => {
    setBusy(true);
    setReport(null);
    p.then(setReport)
      .catch(reportError)
      .finally(() => {
        setBusy(false);
        setProgress(null);
        setPassword("");
        window.dispatchEvent(new Event(SYNCED));
      });
  };

  if (!status) return <p className="empty">Loading…</p>;
  return (
    <section className="card settings-card" data-testid="sync-settings">
      <h2>Sync</h2>
      {!status.connected ? (
        <form
          className="scorecard-form"
          onSubmit={(e) => {
            e.preventDefault();
            run(invite ? backend.syncAcceptInvite(url, code, password, share, setProgress) : backend.syncConnect(url, email, password, share, setProgress));
          }}
        >
          <p className="muted">
            Connect this device to your team's Riskdesk server to share your accounts' work with your team and your escalations with leadership. Everything keeps working offline; changes wait here until the next sync.
          </p>
          {status.holds_demo && (
            <p className="problem" data-testid="sync-demo-warning">
              This store holds the demo book. Its made-up accounts would sit beside your team's, and what you change in them would be sent to your team. For your team's data, quit Riskdesk, move the store aside (Settings › You › About this store says where it is) and start again with your own data.
            </p>
          )}
          <div className="segmented" role="tablist">
            <button type="button" role="tab" aria-selected={!invite} className={invite ? "" : "active"} onClick={() => setInvite(false)} data-testid="sync-mode-password">
              I have a password
            </button>
            <button type="button" role="tab" aria-selected={invite} className={invite ? "active" : ""} onClick={() => setInvite(true)} data-testid="sync-mode-invite">
              I have an invite code
            </button>
          </div>
          <label className="field">
            Server
            <input value={url} onChange={(e) => setUrl(e.target.value)} data-testid="sync-url" />
          </label>
          {invite ? (
            <label className="field">
              Invite code
              <input value={code} onChange={(e) => setCode(e.target.value)} spellCheck={false} data-testid="sync-code" />
            </label>
          ) : (
            <label className="field">
              Email
              <input value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" data-testid="sync-email" />
            </label>
          )}
          <label className="field">
            {invite ? "Choose a password (10 characters or more)" : "Password"}
            <input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete={invite ? "new-password" : "current-password"}
              data-testid="sync-password"
            />
          </label>
          <label className="toggle">
            <input type="checkbox" checked={share} onChange={(e) => setShare(e.target.checked)} /> Send what this device already holds (a device used before connecting)
          </label>
          <div className="actions">
            <button
              className="button"
              disabled={busy || !password || (invite ? !code.trim() || password.length < 10 : !email.trim())}
              data-testid="sync-connect"
            >
              {invite ? "Set password, connect and sync" : "Connect and sync"}
            </button>
          </div>
        </form>
      ) : (
        <>
          <dl className="head-stats">
            <div>
              <dt>Server</dt>
              <dd className="small">{status.server_url}</dd>
            </div>
            <div>
              <dt>Signed in as</dt>
              <dd className="small">{status.email}</dd>
            </div>
            <div>
              <dt>Last synced</dt>
              <dd className="small">{ago(status.last_synced_at)}</dd>
            </div>
            <div>
              <dt>Waiting to send</dt>
              <dd className="small" data-testid="sync-pending">
                {status.pending.toLocaleString("en-US")}
              </dd>
            </div>
          </dl>
          {status.last_error && (
            <p className="problem small">
              Last attempt failed: {status.last_error}. Working offline; it retries every {every(status.interval_seconds)}.
            </p>
          )}
          <label className="field inline">
            Sync in the background every
            <select
              value={status.interval_seconds}
              onChange={(e) =>
                backend
                  .syncSetInterval(Number(e.target.value))
                  .then(() => window.dispatchEvent(new Event(SYNCED)))
                  .catch(reportError)
              }
              data-testid="sync-interval"
            >
              {(INTERVALS.some(([s]) => s === status.interval_seconds) ? INTERVALS : [...INTERVALS, [status.interval_seconds, every(status.interval_seconds)] as [number, string]]).map(([s, label]) => (
                <option key={s} value={s}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <div className="actions">
            <button className="button secondary" disabled={busy} data-testid="sync-signout" onClick={() => {
                setReport(null);
                backend
                  .syncDisconnect()
                  .then(() => window.dispatchEvent(new Event(SYNCED)))
                  .catch(reportError);
              }}
            >
              Sign out
            </button>
            <button className="button" disabled={busy} onClick={() => run(backend.syncNow(setProgress))} data-testid="sync-now">
              Sync now
            </button>
          </div>
          {conflicts.length > 0 && (
            <>
              <h3>Your edits that lost to later ones</h3>
              <table className="measures compact" data-testid="sync-conflicts">
                <thead>
                  <tr>
                    <th>What</th>
                    <th>Your value</th>
                    <th>Kept value</th>
                    <th>When</th>
                  </tr>
                </thead>
                <tbody>
                  {conflicts.map((c) => (
                    <tr key={c.id}>
                      <td>
                        {c.entity} · {c.field}
                      </td>
                      <td>{c.lost_value}</td>
                      <td>{c.winner_value}</td>
                      <td>{ago(c.reported_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
      {status.connected && aside.length > 0 && (
        <>
          <h3>Set aside</h3>
          <p className="muted small">
            Changes that could not be applied here are retried after every sync; changes the server refused stay on this device and are not sent again. Everything else keeps syncing.
          </p>
          <table className="measures compact" data-testid="sync-set-aside">
            <thead>
              <tr>
                <th>Which way</th>
                <th>What</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {aside.map((a) => (
                <tr key={`${a.direction}:${a.entity}:${a.entity_id}`}>
                  <td>{a.direction === "in" ? "Received, not applied" : "Refused by the server"}</td>
                  <td>
                    {a.entity} · {a.label ?? <span className="mono small">{a.entity_id}</span>}
                    {a.label && <div className="mono small muted">{a.entity_id}</div>}
                  </td>
                  <td>{a.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {progress && (
        <ProgressBar
          label={
            progress.phase === "waiting"
              ? "Waiting for the sync under way to finish"
              : progress.phase === "pushing"
                ? `Sending this device's changes (${progress.done.toLocaleString("en-US")} of ${progress.total.toLocaleString("en-US")})`
                : "Receiving your team's changes"
          }
          done={progress.done}
          total={progress.total}
          testId="sync-progress"
        />
      )}
      {report && (
        <p className="ok small" data-testid="sync-report">
          Sent {report.pushed.toLocaleString("en-US")} changes, received {report.applied.toLocaleString("en-US")} new
          {report.conflicts ? ` · ${report.conflicts} of your edits lost to later ones` : ""}
          {report.set_aside ? ` · ${report.set_aside} refused by the server (see Set aside)` : ""}.
        </p>
      )}
      <p className="muted small">This device: {status.device_id}</p>
    </section>
  );
}
