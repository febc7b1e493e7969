import { useEffect, useState } from "react";
import type { CtaDetail, CtaEdit, Level, RiskCategory, TimelineKind, User } from "../backend";
import { useApp } from "../context";
import { formatDate, formatDateTime, todayIso } from "../format";
import { PriorityOptions, RiskUpdateView, UserOptions } from "../components/Shared";

export const OUTCOMES: Array<[string, string]> = [
  ["saved", "Saved"],
  ["downsell", "Downsell"],
  ["churned", "Churned"],
  ["no_longer_relevant", "No longer relevant"],
];

export const ACTIVITY_KINDS: Array<[TimelineKind, string]> = [
  ["call", "Call"],
  ["meeting", "Meeting"],
  ["email", "Email"],
  ["note", "Note"],
];

export type CtaMode = "none" | "close" | "snooze" | "update" | "edit" | "log";

/** "Created by rule “X” on Nov 20, 2026 because seat utilization 41 < 50; …" */
export function sourceLine(d: CtaDetail): string {
  const c = d.cta;
  return d.rule_name
    ? `Created by rule “${d.rule_name}” on ${formatDate(c.created_at)} because ${c.evidence.slice(1).join("; ")}`
    : `Created by hand on ${formatDate(c.created_at)}`;
}

function matrixLabel(expected: boolean | null, avoidable: boolean | null): string | null {
  if (expected === null && avoidable === null) return null;
  const e = expected === null ? "?" : expected ? "Expected" : "Unexpected";
  const a = avoidable === null ? "?" : avoidable ? "avoidable" : "unavoidable";
  return `${e} · ${a}`;
}

/**
 * One CTA with everything a CSM does on it: flag, tasks, weekly risk updates, activity,
 * edit (priority, owner, due date, risk category, at-risk matrix), close and snooze.
 * `full` adds the CTA's own timeline and the update history (the Cockpit's detail pane).
 */
export function CtaView({
  detail: d,
  onChanged,
  full = false,
  mode: outerMode,
  onModeChange,
  onOpenAccount,
}: {
  detail: CtaDetail;
  onChanged: () => void;
  full?: boolean;
  mode?: CtaMode;
  onModeChange?: (m: CtaMode) => void;
  onOpenAccount?: (accountId: string) => void;
}) {
  const { backend, reportError } = useApp();
  const [innerMode, setInnerMode] = useState<CtaMode>("none");
  const mode = outerMode ?? innerMode;
  const setMode = (m: CtaMode) => (onModeChange ? onModeChange(m) : setInnerMode(m));
  const [showHistory, setShowHistory] = useState(false);
  const [newTask, setNewTask] = useState({ title: "", due: "" });
  const c = d.cta;
  const live = c.status !== "closed";

  const act = async (f: () => Promise<unknown>, then: CtaMode = "none") => {
    try {
      await f();
      setMode(then);
      onChanged();
    } catch (e) {
      reportError(e);
    }
  };
  const updates = showHistory ? d.updates : d.updates.slice(0, 1);
  const matrix = matrixLabel(c.expected, c.avoidable);

  return (
    <div className={full ? "cta cta-full" : "cta"} data-testid="cta">
      <div className="cta-head">
        <button
          className={`flag ${c.flagged ? "on" : ""}`}
          onClick={() => act(() => backend.flagCta(c.id, !c.flagged), mode)}
          title={c.flagged ? "Unflag (f)" : "Flag (f)"}
          data-testid="cta-flag"
          aria-pressed={c.flagged}
          disabled={!live}
        >
          {c.flagged ? "⚑" : "⚐"}
        </button>
        <span className={`pill sev-${c.priority}`}>{c.priority}</span>
        <span className="pill">{c.cta_type}</span>
        <strong data-testid="cta-reason">{c.reason}</strong>
        {c.status === "snoozed" && <span className="pill">snoozed until {c.snoozed_until ? formatDate(c.snoozed_until) : ""}</span>}
        {c.status === "in_progress" && <span className="pill">in progress</span>}
        {c.status === "closed" && <span className="pill" data-testid="cta-closed">closed · {c.outcome?.replace(/_/g, " ")}</span>}
        <span className="muted small cta-due">
          {c.due_on ? `due ${formatDate(c.due_on)}` : "no due date"} {d.owner_name ? `· ${d.owner_name}` : c.cta_type === "digital" ? "· tech-touch lane (runs itself)" : "· unassigned"}
        </span>
      </div>
      {onOpenAccount && (
        <p className="small">
          <button className="link" onClick={() => onOpenAccount(c.account_id)} data-testid="cta-account">
            {d.account_name} →
          </button>
        </p>
      )}
      <p className="muted small" data-testid="cta-source">
        {sourceLine(d)}
        {d.playbook_name ? ` · playbook ${d.playbook_name}` : ""}
      </p>
      {(c.category || matrix || c.snooze_reason) && (
        <p className="small" data-testid="cta-judgment">
          {c.category && <span className="pill pill-key">{c.category}</span>} {matrix && <span className="pill">{matrix}</span>}{" "}
          {c.status === "snoozed" && c.snooze_reason && <span className="muted">Snoozed: {c.snooze_reason}</span>}
        </p>
      )}
      {(d.tasks.length > 0 || live) && (
        <ul className="tasks" data-testid="cta-tasks">
          {d.tasks.map((t) => (
            <li key={t.id} className={t.done_at ? "done" : undefined}>
              <label>
                <input
                  type="checkbox"
                  checked={t.done_at !== null}
                  disabled={!live}
                  onChange={(e) => act(() => backend.setTaskDone(t.id, e.target.checked), mode)}
                  data-testid="task-toggle"
                />{" "}
                <span data-testid="task-title">{t.title}</span>
              </label>{" "}
              {t.due_on && <small className={!t.done_at && t.due_on < todayIso() ? "overdue" : "muted"}>by {formatDate(t.due_on)}</small>}
            </li>
          ))}
          {live && (
            <li>
              <form
                className="inline-form add-task"
                onSubmit={(e) => {
                  e.preventDefault();
                  void act(() => backend.addCtaTask(c.id, newTask.title, newTask.due || null), mode).then(() => setNewTask({ title: "", due: "" }));
                }}
              >
                <input className="grow" placeholder="Add a task…" value={newTask.title} onChange={(e) => setNewTask({ ...newTask, title: e.target.value })} data-testid="task-add-title" />
                <input type="date" value={newTask.due} onChange={(e) => setNewTask({ ...newTask, due: e.target.value })} aria-label="Task due date" />
                <button className="button secondary" disabled={!newTask.title.trim()} data-testid="task-add">
                  Add
                </button>
              </form>
            </li>
          )}
        </ul>
      )}
      {updates.map((u, i) => (
        <RiskUpdateView
          key={u.id}
          update={u}
          testId={i === 0 ? "cta-latest-update" : "cta-update"}
          header={
            i === 0 &&
            d.updates.length > 1 && (
              <>
                {" · "}
                <button className="link" onClick={() => setShowHistory(!showHistory)} data-testid="cta-history">
                  {showHistory ? "hide earlier" : `${d.updates.length - 1} earlier`}
                </button>
              </>
            )
          }
        />
      ))}
      {full && d.timeline.length > 0 && (
        <>
          <h3>Activity on this CTA</h3>
          <ul className="timeline compact" data-testid="cta-timeline">
            {d.timeline.map((t) => (
              <li key={t.id}>
                <span className="kind">{t.kind === "system" ? "System" : t.kind}</span>
                <span className="muted small">
                  {formatDateTime(t.occurred_at)}
                  {t.author_name ? ` · ${t.author_name}` : ""}
                </span>
                <span>{t.body}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {mode === "update" && <UpdateForm onCancel={() => setMode("none")} onSave={(b, done, next) => act(() => backend.addRiskUpdate(c.id, b, done, next))} />}
      {mode === "log" && (
        <ActivityForm onCancel={() => setMode("none")} onSave={(kind, on, body) => act(() => backend.logActivity(c.account_id, kind, on, body, c.id))} />
      )}
      {mode === "edit" && <EditForm detail={d} onCancel={() => setMode("none")} onSave={(e) => act(() => backend.editCta(c.id, e))} />}
      {mode === "close" && <CloseForm onCancel={() => setMode("none")} onSave={(o) => act(() => backend.closeCta(c.id, o))} />}
      {mode === "snooze" && <SnoozeForm onCancel={() => setMode("none")} onSave={(u, r) => act(() => backend.snoozeCta(c.id, u, r))} />}
      {mode === "none" && live && (
        <div className="cta-actions">
          <button className="link" onClick={() => setMode("update")} data-testid="cta-add-update" title="Weekly risk update (u)">
            Weekly update…
          </button>
          <button className="link" onClick={() => setMode("log")} data-testid="cta-log" title="Log a call, meeting, email or note (l)">
            Log activity…
          </button>
          <button className="link" onClick={() => setMode("edit")} data-testid="cta-edit" title="Priority, owner, due date, category, matrix (e)">
            Edit…
          </button>
          <button className="link" onClick={() => setMode("snooze")} data-testid="cta-snooze" title="Snooze (s)">
            Snooze…
          </button>
          <button className="link" onClick={() => setMode("close")} data-testid="cta-close" title="Close with an outcome (c)">
            Close…
          </button>
        </div>
      )}
    </div>
  );
}

function UpdateForm({ onSave, onCancel }: { onSave: (b: string, d: string, n: string) => void; onCancel: () => void }) {
  const [u, setU] = useState({ background: "", done: "", next: "" });
  const empty = !u.background.trim() && !u.done.trim() && !u.next.trim();
  return (
    <form
      className="update-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(u.background, u.done, u.next);
      }}
    >
      <textarea autoFocus rows={2} placeholder="Background" value={u.background} onChange={(e) => setU({ ...u, background: e.target.value })} data-testid="update-background" />
      <textarea rows={2} placeholder="What we've done" value={u.done} onChange={(e) => setU({ ...u, done: e.target.value })} data-testid="update-done" />
      <textarea rows={2} placeholder="Next steps" value={u.next} onChange={(e) => setU({ ...u, next: e.target.value })} data-testid="update-next" />
      <div className="actions">
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
        <button className="button" disabled={empty} data-testid="update-save">
          Save update
        </button>
      </div>
    </form>
  );
}

/** Logs a call, meeting, email or note; used on a CTA and on the account's timeline. */
export function ActivityForm({ onSave, onCancel }: { onSave: (kind: TimelineKind, on: string, body: string) => void; onCancel?: () => void }) {
  const [kind, setKind] = useState<TimelineKind>("call");
  const [on, setOn] = useState(todayIso());
  const [body, setBody] = useState("");
  return (
    <form
      className="inline-form activity-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(kind, on, body);
        setBody("");
      }}
    >
      <select value={kind} onChange={(e) => setKind(e.target.value as TimelineKind)} aria-label="Activity type" data-testid="activity-kind">
        {ACTIVITY_KINDS.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      <input type="date" value={on} max={todayIso()} onChange={(e) => setOn(e.target.value)} aria-label="When" />
      <input className="grow" placeholder="What happened" value={body} onChange={(e) => setBody(e.target.value)} data-testid="activity-body" />
      <button className="button" disabled={!body.trim() || !on} data-testid="activity-save">
        Log
      </button>
      {onCancel && (
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      )}
    </form>
  );
}

function triState(v: boolean | null): string {
  return v === null ? "" : v ? "yes" : "no";
}
function fromTriState(s: string): boolean | null {
  return s === "" ? null : s === "yes";
}

function EditForm({ detail: d, onSave, onCancel }: { detail: CtaDetail; onSave: (e: CtaEdit) => void; onCancel: () => void }) {
  const { backend, reportError } = useApp();
  const [users, setUsers] = useState<User[]>([]);
  const [categories, setCategories] = useState<RiskCategory[]>([]);
  const [e, setE] = useState<CtaEdit>({
    priority: d.cta.priority,
    owner_id: d.cta.owner_id,
    due_on: d.cta.due_on,
    category: d.cta.category,
    expected: d.cta.expected,
    avoidable: d.cta.avoidable,
  });
  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
    backend.riskCategories().then(setCategories).catch(reportError);
  }, [backend, reportError]);
  return (
    <form
      className="edit-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        onSave(e);
      }}
      data-testid="cta-edit-form"
    >
      <label>
        Priority
        <select value={e.priority} onChange={(ev) => setE({ ...e, priority: ev.target.value as Level })} data-testid="edit-priority">
          <PriorityOptions />
        </select>
      </label>
      <label>
        Owner
        <select value={e.owner_id ?? ""} onChange={(ev) => setE({ ...e, owner_id: ev.target.value || null })}>
          <option value="">Unassigned</option>
          <UserOptions users={users} />
        </select>
      </label>
      <label>
        Due
        <input type="date" value={e.due_on ?? ""} onChange={(ev) => setE({ ...e, due_on: ev.target.value || null })} />
      </label>
      <label>
        Risk category
        <input list="risk-categories" value={e.category ?? ""} placeholder="e.g. product gaps, sponsor change" onChange={(ev) => setE({ ...e, category: ev.target.value || null })} data-testid="edit-category" />
        <datalist id="risk-categories">
          {categories.map((c) => (
            <option key={c.id} value={c.name} />
          ))}
        </datalist>
      </label>
      <label>
        Expected?
        <select value={triState(e.expected)} onChange={(ev) => setE({ ...e, expected: fromTriState(ev.target.value) })} data-testid="edit-expected">
          <option value="">Not judged</option>
          <option value="yes">Expected</option>
          <option value="no">Unexpected</option>
        </select>
      </label>
      <label>
        Avoidable?
        <select value={triState(e.avoidable)} onChange={(ev) => setE({ ...e, avoidable: fromTriState(ev.target.value) })} data-testid="edit-avoidable">
          <option value="">Not judged</option>
          <option value="yes">Avoidable</option>
          <option value="no">Unavoidable</option>
        </select>
      </label>
      <div className="actions">
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
        <button className="button" data-testid="edit-save">
          Save
        </button>
      </div>
    </form>
  );
}

function CloseForm({ onSave, onCancel }: { onSave: (outcome: string) => void; onCancel: () => void }) {
  const [outcome, setOutcome] = useState("saved");
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(outcome);
      }}
    >
      <select autoFocus value={outcome} onChange={(e) => setOutcome(e.target.value)} aria-label="Outcome" data-testid="cta-outcome">
        {OUTCOMES.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      <button className="button" data-testid="cta-close-confirm">
        Close with this outcome
      </button>
      <button type="button" className="link" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function SnoozeForm({ onSave, onCancel }: { onSave: (until: string, reason: string) => void; onCancel: () => void }) {
  const [until, setUntil] = useState("");
  const [reason, setReason] = useState("");
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(until, reason);
      }}
    >
      <input autoFocus type="date" value={until} min={todayIso()} onChange={(e) => setUntil(e.target.value)} aria-label="Until" data-testid="snooze-until" />
      <input className="grow" placeholder="Why it can wait" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="snooze-reason" />
      <button className="button" disabled={!until || !reason.trim()} data-testid="snooze-save">
        Snooze
      </button>
      <button type="button" className="link" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
