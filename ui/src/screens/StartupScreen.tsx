// What the window shows before the store is ready: the demo book being made (with its
// progress), the first-start choice, or why the store could not be opened.
import { useEffect, useRef, useState } from "react";
import type { Backend, Startup, User } from "../backend";
import { ProgressBar } from "../components/ProgressBar";

/** How often the window asks whether the store is ready. */
const POLL_MS = 250;

export function StartupScreen({ backend, onReady }: { backend: Backend; onReady: (startedEmpty: User | null) => void }) {
  const [status, setStatus] = useState<Startup | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Set once the user starts empty: from then on that start, not the poll, says the store
  // is ready. Otherwise a poll answering "ready" just before (or just after) the start's
  // own answer would open the app as if nobody had started it, and the welcome would
  // vanish.
  const startingEmpty = useRef(false);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await backend.startupStatus();
        if (!alive) return;
        // While an empty start runs, its own answer opens the app (or shows its error).
        if (s.kind !== "ready" || !startingEmpty.current) setStatus(s);
        if (s.kind === "ready" && !startingEmpty.current) {
          onReady(null);
          return;
        }
      } catch (e) {
        if (alive) setError(e instanceof Error ? e.message : String(e));
      }
      if (alive) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
    // Poll once per mount; `onReady` is called once, when ready.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backend]);

  return (
    <div className="startup" data-testid="startup">
      <div className="startup-card">
        <div className="brand startup-brand">
          <span className="brand-mark">▲</span> Riskdesk
        </div>
        {error && <p className="error-text">{error}</p>}
        {status === null || status.kind === "ready" ? (
          <p className="muted">Opening your store…</p>
        ) : status.kind === "preparing" ? (
          <Preparing status={status} />
        ) : status.kind === "choose" ? (
          <Choose
            backend={backend}
            onStarting={(starting) => {
              startingEmpty.current = starting;
            }}
            onStartedEmpty={(me) => onReady(me)}
          />
        ) : (
          <div data-testid="startup-failed">
            <h1>Riskdesk could not open its store</h1>
            <p className="error-text">{status.message}</p>
            <p className="muted">The logs say more. Nothing was changed; restart the app to try again.</p>
          </div>
        )}
      </div>
    </div>
  );
}

function Preparing({ status }: { status: Extract<Startup, { kind: "preparing" }> }) {
  const p = status.progress;
  return (
    <div data-testid="startup-progress">
      <h1>Getting Riskdesk ready</h1>
      {p ? (
        <>
          <p className="muted">
            Step {p.step} of {p.phases}: {p.phase}
          </p>
          <ProgressBar label={p.total > 1 ? `${p.done.toLocaleString("en-US")} of ${p.total.toLocaleString("en-US")}` : p.phase} done={p.done} total={p.total} testId="startup-bar" />
        </>
      ) : (
        <p className="muted">Opening the store…</p>
      )}
    </div>
  );
}

function Choose({ backend, onStarting, onStartedEmpty }: { backend: Backend; onStarting: (starting: boolean) => void; onStartedEmpty: (me: User) => void }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const demo = async () => {
    setBusy(true);
    setError(null);
    try {
      await backend.startDemo();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  const empty = async () => {
    setBusy(true);
    setError(null);
    onStarting(true);
    try {
      onStartedEmpty(await backend.startEmpty(name.trim(), email.trim()));
    } catch (e) {
      onStarting(false);
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  return (
    <div data-testid="first-start">
      <h1>Welcome to Riskdesk</h1>
      <p className="muted">This store is new. How do you want to begin?</p>
      <div className="startup-choices">
        <section className="card">
          <h2>Explore the demo book</h2>
          <p className="muted">2,500 synthetic accounts with twelve weeks of health history, risk signals, CTAs and escalations: see what Riskdesk does before your data is in.</p>
          <button className="button" onClick={demo} disabled={busy} data-testid="start-demo">
            Explore the demo book
          </button>
        </section>
        <section className="card">
          <h2>Start with your own data</h2>
          <p className="muted">You become this store's admin. Next you import your people (Settings › People) and your accounts (Import).</p>
          <p className="muted" data-testid="start-join-hint">
            Joining a team that already uses Riskdesk? Start here with your work email, then connect in Settings › Sync: your team's people and your accounts come from its server.
          </p>
          <label className="field">
            <span>Your name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" data-testid="start-name" />
          </label>
          <label className="field">
            <span>Your work email</span>
            <input value={email} onChange={(e) => setEmail(e.target.value)} type="email" autoComplete="email" data-testid="start-email" />
          </label>
          <button className="button" onClick={empty} disabled={busy || !name.trim() || !email.trim()} data-testid="start-empty">
            Start empty
          </button>
        </section>
      </div>
      {error && (
        <p className="error-text" data-testid="start-error">
          {error}
        </p>
      )}
    </div>
  );
}
