import { useCallback, useEffect, useState } from "react";
import type { Action, ImportPlan, Playbook, PlaybookTask, Rule, RuleSchedule, RunLogEntry, RunReport } from "../backend";
import { BackendError } from "../backend";
import { useApp } from "../context";
import { formatDateTime } from "../format";
import { PreviewTable, RuleEditor } from "./RuleEditor";

type Tab = "rules" | "playbooks" | "log";

/** "creates a high risk CTA (Risk save)" — what a rule does, in a line. */
export function describeActions(actions: Action[]): string {
  return actions
    .map((a) => {
      switch (a.kind) {
        case "create_cta":
          return `creates a ${a.priority} ${a.cta_type} CTA${a.playbook ? ` (${a.playbook})` : ""}`;
        case "close_when_cleared":
          return `closes it as ${a.outcome.replace(/_/g, " ")} when cleared`;
        case "set_category":
          return `category ${a.category}`;
        case "start_digital_playbook":
          return `starts ${a.playbook}`;
        case "add_timeline_note":
          return "adds a timeline note";
        case "escalate_to_leadership":
          return "escalates to leadership";
      }
    })
    .join(" · ");
}

export function RulesScreen() {
  const [tab, setTab] = useState<Tab>("rules");
  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Rules</h1>
        <span className="muted">When conditions hold for an account, turn them into work.</span>
      </div>
      <div className="tabs" role="tablist">
        {(
          [
            ["rules", "Rules"],
            ["playbooks", "Playbooks"],
            ["log", "Run log"],
          ] as Array<[Tab, string]>
        ).map(([t, l]) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? "active" : ""} onClick={() => setTab(t)} data-testid={`rules-tab-${t}`}>
            {l}
          </button>
        ))}
      </div>
      {tab === "rules" && <RulesTab />}
      {tab === "playbooks" && <PlaybooksTab />}
      {tab === "log" && <RunLogTab />}
    </div>
  );
}

function RulesTab() {
  const { backend, reportError } = useApp();
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [editing, setEditing] = useState<Rule | "new" | null>(null);
  const [report, setReport] = useState<RunReport | null>(null);
  const [running, setRunning] = useState(false);
  const [schedule, setSchedule] = useState<RuleSchedule | null>(null);
  const [version, setVersion] = useState(0);
  const [fileNote, setFileNote] = useState<string | null>(null);
  const [importing, setImporting] = useState<{ path: string; plan: ImportPlan } | null>(null);

  useEffect(() => {
    backend.listRules().then(setRules).catch(reportError);
    backend.ruleSchedule().then(setSchedule).catch(reportError);
  }, [backend, reportError, version]);

  const run = async (dryRun: boolean) => {
    setRunning(true);
    try {
      setReport(await backend.runRules(dryRun));
    } catch (e) {
      reportError(e);
    } finally {
      setRunning(false);
    }
  };

  const exportRules = async () => {
    try {
      const path = await backend.pickRulesSavePath();
      if (!path) return;
      const n = await backend.exportRules(path);
      setFileNote(`${n} rules saved to ${path}`);
    } catch (e) {
      reportError(e);
    }
  };
  const importRules = async () => {
    try {
      const path = await backend.pickRulesFile();
      if (!path) return;
      setFileNote(null);
      setImporting({ path, plan: await backend.importRules(path, false) });
    } catch (e) {
      reportError(e);
    }
  };
  const applyImport = async () => {
    if (!importing) return;
    try {
      const done = await backend.importRules(importing.path, true);
      setImporting(null);
      setFileNote(`Imported: ${done.added.length} added, ${done.changed.length} changed, ${done.removed.length} removed`);
      setVersion((v) => v + 1);
    } catch (e) {
      reportError(e);
    }
  };

  if (editing) {
    return (
      <RuleEditor
        rule={editing === "new" ? null : editing}
        onCancel={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          setVersion((v) => v + 1);
        }}
      />
    );
  }

  return (
    <>
      <div className="toolbar wrap">
        <button className="button" onClick={() => setEditing("new")} data-testid="rule-new">
          New rule
        </button>
        <button className="button secondary" disabled={running} onClick={() => run(true)} data-testid="rules-dry-run">
          Preview all (dry run)
        </button>
        <button className="button secondary" disabled={running} onClick={() => run(false)} data-testid="rules-run">
          Run all rules now
        </button>
        <button className="button secondary" onClick={exportRules} data-testid="rules-export">
          Export…
        </button>
        <button className="button secondary" onClick={importRules} data-testid="rules-import">
          Import…
        </button>
        {schedule && (
          <form
            className="inline-form schedule"
            onSubmit={(e) => {
              e.preventDefault();
              backend.saveRuleSchedule(schedule).then(setSchedule).catch(reportError);
            }}
          >
            <span className="muted">Also run every</span>
            <input type="number" className="num-input" min={0} max={168} value={schedule.every_hours} onChange={(e) => setSchedule({ every_hours: Math.max(0, Number(e.target.value) || 0) })} aria-label="Hours between scheduled runs" data-testid="rules-schedule" />
            <span className="muted">hours (0 = off)</span>
            <button className="button secondary">Save</button>
          </form>
        )}
      </div>
      {fileNote && (
        <p className="ok" data-testid="rules-file-note">
          {fileNote}
        </p>
      )}
      {importing && <ImportPlanCard plan={importing.plan} path={importing.path} onApply={applyImport} onCancel={() => setImporting(null)} />}
      {running && <p className="muted">Running the rules over the whole book…</p>}
      {report && (
        <section className="card" data-testid="rules-run-result">
          <h2>{report.dry_run ? "Dry run" : "Run"} finished</h2>
          {report.dry_run ? (
            <PreviewTable report={report} />
          ) : (
            <p>
              {report.accounts.toLocaleString("en-US")} accounts · {report.created} CTAs created · {report.closed} closed · {report.suppressed} suppressed by a snooze · {report.duration_ms} ms
            </p>
          )}
        </section>
      )}
      <section className="card">
        {rules === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <table className="measures rules-table" data-testid="rules-table">
            <thead>
              <tr>
                <th>On</th>
                <th>Rule</th>
                <th>Does</th>
                <th className="num">Version</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id} data-testid="rule-row" className={r.enabled ? undefined : "missing"}>
                  <td>
                    <input
                      type="checkbox"
                      checked={r.enabled}
                      aria-label={`${r.enabled ? "Disable" : "Enable"} ${r.name}`}
                      onChange={(e) =>
                        backend
                          .setRuleEnabled(r.id, e.target.checked)
                          .then(() => setVersion((v) => v + 1))
                          .catch(reportError)
                      }
                      data-testid="rule-enabled"
                    />
                  </td>
                  <td>
                    <strong data-testid="rule-name-cell">{r.name}</strong>
                    <div className="muted small">{r.definition.description}</div>
                  </td>
                  <td className="small">{describeActions(r.definition.actions)}</td>
                  <td className="num">{r.version}</td>
                  <td>
                    <button className="link" onClick={() => setEditing(r)} data-testid="rule-edit">
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

/** What importing a rules file would do, before it is written. */
export function ImportPlanCard({ plan, path, onApply, onCancel }: { plan: ImportPlan; path: string; onApply: () => void; onCancel: () => void }) {
  const nothing = plan.added.length + plan.changed.length + plan.removed.length === 0;
  return (
    <section className="card" data-testid="rules-import-plan">
      <h2>Import rules from {path.split(/[\\/]/).pop()}</h2>
      {nothing ? (
        <p className="muted">Nothing to change: the store already has these {plan.unchanged} rules.</p>
      ) : (
        <ul className="plain">
          {plan.added.map((n) => (
            <li key={`+${n}`} data-testid="plan-added">
              <strong>Add</strong> {n}
            </li>
          ))}
          {plan.changed.map((c) => (
            <li key={`~${c.name}`} data-testid="plan-changed">
              <strong>Change</strong> {c.name} <span className="muted">({c.what.join(", ")})</span>
            </li>
          ))}
          {plan.removed.map((n) => (
            <li key={`-${n}`} data-testid="plan-removed">
              <strong>Remove</strong> {n}
            </li>
          ))}
          {plan.unchanged > 0 && <li className="muted">{plan.unchanged} unchanged</li>}
        </ul>
      )}
      <div className="toolbar">
        {!nothing && (
          <button className="button" onClick={onApply} data-testid="rules-import-apply">
            Import these changes
          </button>
        )}
        <button className="button secondary" onClick={onCancel}>
          {nothing ? "Close" : "Cancel"}
        </button>
      </div>
    </section>
  );
}

function RunLogTab() {
  const { backend, reportError } = useApp();
  const [log, setLog] = useState<RunLogEntry[] | null>(null);
  useEffect(() => {
    backend.ruleRunLog().then(setLog).catch(reportError);
  }, [backend, reportError]);
  if (!log) return <p className="muted">Loading…</p>;
  return (
    <section className="card">
      {log.length === 0 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <table className="measures" data-testid="run-log">
          <thead>
            <tr>
              <th>Started</th>
              <th>Trigger</th>
              <th className="num">Accounts</th>
              <th className="num">Fired</th>
              <th className="num">Created</th>
              <th className="num">Closed</th>
              <th className="num">Suppressed</th>
              <th className="num">Duration</th>
              <th>Errors</th>
            </tr>
          </thead>
          <tbody>
            {log.map((r) => (
              <tr key={r.id} data-testid="run-log-row">
                <td>{formatDateTime(r.started_at)}</td>
                <td>
                  {r.trigger.replace(/_/g, " ")}
                  {r.dry_run ? " (dry run)" : ""}
                </td>
                <td className="num">{r.accounts.toLocaleString("en-US")}</td>
                <td className="num">{r.fired}</td>
                <td className="num">{r.created}</td>
                <td className="num">{r.closed}</td>
                <td className="num">{r.suppressed}</td>
                <td className="num">{Math.max(0, Date.parse(r.finished_at) - Date.parse(r.started_at))} ms</td>
                <td className={r.errors.length ? "problem" : "muted"}>{r.errors.length ? r.errors.join("; ") : "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PlaybooksTab() {
  const { backend, reportError } = useApp();
  const [playbooks, setPlaybooks] = useState<Playbook[] | null>(null);
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  useEffect(() => {
    backend.listPlaybooks().then(setPlaybooks).catch(reportError);
  }, [backend, reportError, version]);
  if (!playbooks) return <p className="muted">Loading…</p>;
  const blank: Playbook = { id: "", name: "", description: "", kind: "csm", tasks: [{ title: "", due_in_days: 1 }] };
  return (
    <div className="playbooks">
      <p className="muted">Editing a playbook shapes the CTAs created from now on; open CTAs keep the tasks they were given. Renaming one renames it in the rules that start it.</p>
      {/* Keyed by content: an editor starts afresh when its saved playbook arrives. */}
      {playbooks.map((p) => (
        <PlaybookEditor key={JSON.stringify(p)} playbook={p} onSaved={reload} />
      ))}
      <PlaybookEditor key={`new-${playbooks.length}`} playbook={blank} onSaved={reload} />
    </div>
  );
}

function PlaybookEditor({ playbook, onSaved }: { playbook: Playbook; onSaved: () => void }) {
  const { backend, reportError } = useApp();
  const [p, setP] = useState(playbook);
  const [problem, setProblem] = useState<string | null>(null);
  const isNew = playbook.id === "";
  const dirty = JSON.stringify(p) !== JSON.stringify(playbook);
  const setTask = (i: number, t: PlaybookTask) => setP({ ...p, tasks: p.tasks.map((x, j) => (j === i ? t : x)) });
  const save = async () => {
    setProblem(null);
    try {
      await backend.savePlaybook(isNew ? null : p.id, p);
      onSaved();
    } catch (e) {
      if (e instanceof BackendError) setProblem(e.message);
      else reportError(e);
    }
  };
  return (
    <section className="card playbook" data-testid={isNew ? "playbook-new" : "playbook"}>
      <div className="cond-row">
        <input className="grow title-input" placeholder={isNew ? "New playbook name" : "Name"} value={p.name} onChange={(e) => setP({ ...p, name: e.target.value })} data-testid="playbook-name" />
        <select value={p.kind} onChange={(e) => setP({ ...p, kind: e.target.value })} aria-label="Kind">
          <option value="csm">CSM tasks</option>
          <option value="digital">Digital (automated)</option>
        </select>
      </div>
      <input className="wide-input" placeholder="What it is for" value={p.description} onChange={(e) => setP({ ...p, description: e.target.value })} />
      <ol className="playbook-tasks">
        {p.tasks.map((t, i) => (
          <li key={i} className="cond-row">
            <input className="grow" value={t.title} placeholder="Task" onChange={(e) => setTask(i, { ...t, title: e.target.value })} data-testid="playbook-task-title" />
            <label className="toggle small">
              day
              <input type="number" className="num-input" min={0} max={365} value={t.due_in_days} onChange={(e) => setTask(i, { ...t, due_in_days: Math.max(0, Number(e.target.value) || 0) })} aria-label="Due after days" />
            </label>
            <button type="button" className="link danger" aria-label="Remove task" onClick={() => setP({ ...p, tasks: p.tasks.filter((_, j) => j !== i) })}>
              ✕
            </button>
          </li>
        ))}
      </ol>
      <div className="cond-row">
        <button type="button" className="link" onClick={() => setP({ ...p, tasks: [...p.tasks, { title: "", due_in_days: (p.tasks[p.tasks.length - 1]?.due_in_days ?? 0) + 7 }] })} data-testid="playbook-add-task">
          + task
        </button>
        {problem && (
          <span className="problem" role="alert" data-testid="playbook-problem">
            {problem}
          </span>
        )}
        <span style={{ marginLeft: "auto" }} />
        {dirty && (
          <button type="button" className="link" onClick={() => setP(playbook)}>
            Revert
          </button>
        )}
        <button type="button" className="button" disabled={!dirty} onClick={save} data-testid="playbook-save">
          {isNew ? "Add playbook" : "Save"}
        </button>
      </div>
    </section>
  );
}
