import { useEffect, useState } from "react";
import type { Action, Compare, Condition, CtaType, ExpansionPotential, Level, MeasureInfo, MeasureKind, NumberField, Playbook, Rule, RuleDefinition, RunReport, Segment, SignalKind, Stage, User } from "../backend";
import { BackendError } from "../backend";
import { useApp } from "../context";
import { UserOptions } from "../components/Shared";
import { segmentLabel, stageLabel } from "../format";
import { CTA_TYPES } from "./NewCtaForm";

type ConditionKind = Condition["kind"];
type ActionKind = Action["kind"];
type FieldKind = NumberField["field"];

export const CONDITION_KINDS: Array<[ConditionKind, string]> = [
  ["all", "All of"],
  ["any", "Any of"],
  ["not", "Not"],
  ["number", "Number"],
  ["signal", "Active signal"],
  ["segment_in", "Segment is"],
  ["stage_in", "Stage is"],
  ["strategic", "Strategic"],
  ["adopted", "Adopted"],
  ["expansion_at_least", "Expansion potential"],
  ["health_band_is", "Health band is"],
  ["severity_at_least", "Severity level"],
  ["open_cta", "Open CTA"],
];

const FIELDS: Array<[FieldKind, string]> = [
  ["health_score", "Health score"],
  ["health_change_30_pct", "Health change over 30 days (%)"],
  ["severity_score", "Severity score"],
  ["arr", "ARR (base currency)"],
  ["days_to_renewal", "Days to renewal"],
  ["days_since_contract", "Days since contract"],
  ["seat_utilization_pct", "Seat utilization (%)"],
  ["days_in_stage", "Days in the current stage"],
  ["days_since_adopted", "Days since adoption"],
  ["measure_score", "Measure score"],
];

const COMPARES: Array<[Compare, string]> = [
  ["lt", "<"],
  ["le", "≤"],
  ["gt", ">"],
  ["ge", "≥"],
  ["eq", "="],
];

export const SIGNAL_KINDS: Array<[SignalKind, string]> = [
  ["usage_drop", "Usage drop"],
  ["tickets_rising", "Tickets rising"],
  ["sponsor_left", "Sponsor left"],
  ["champion_left", "Champion left"],
  ["recurring_issues", "Recurring issues"],
  ["nps_detractor", "NPS detractor"],
  ["implementation_delay", "Implementation delay"],
  ["health_drop", "Health drop"],
  ["renewal_at_risk", "Renewal at risk"],
];

const SEGMENTS = Object.keys(segmentLabel) as Segment[];
const STAGES = Object.keys(stageLabel) as Stage[];
const LEVELS: Level[] = ["high", "medium", "low"];
const POTENTIALS: ExpansionPotential[] = ["none", "low", "medium", "high"];

/** A sensible new condition of each kind, so switching kinds never leaves a hole. */
export function blankCondition(kind: ConditionKind): Condition {
  switch (kind) {
    case "all":
    case "any":
      return { kind, conditions: [blankCondition("number")] };
    case "not":
      return { kind, condition: blankCondition("signal") };
    case "number":
      return { kind, field: { field: "health_score" }, compare: "lt", value: 50 };
    case "signal":
      return { kind, signal: null, min_severity: "high" };
    case "segment_in":
      return { kind, segments: ["enterprise"] };
    case "stage_in":
      return { kind, stages: ["onboarding"] };
    case "strategic":
      return { kind, is: true };
    case "adopted":
      return { kind, is: false };
    case "expansion_at_least":
      return { kind, potential: "medium" };
    case "health_band_is":
      return { kind, band: "Red" };
    case "severity_at_least":
      return { kind, level: "high" };
    case "open_cta":
      return { kind, cta_type: "risk", open: false };
  }
}

export function blankAction(kind: ActionKind): Action {
  switch (kind) {
    case "create_cta":
      return { kind, cta_type: "risk", reason: "", priority: "medium", playbook: null, owner: { kind: "account_owner" }, due_in_days: 7 };
    case "close_when_cleared":
      return { kind, outcome: "resolved" };
    case "set_category":
      return { kind, category: "" };
    case "start_digital_playbook":
      return { kind, playbook: "Digital re-engagement" };
    case "add_timeline_note":
      return { kind, text: "" };
    case "escalate_to_leadership":
      return { kind, reason: "" };
  }
}

const FIELD_LABEL: Record<FieldKind, string> = {
  health_score: "health score",
  health_change_30_pct: "health change over 30 days (%)",
  severity_score: "severity score",
  arr: "ARR",
  days_to_renewal: "days to renewal",
  days_since_contract: "days since contract",
  seat_utilization_pct: "seat utilization (%)",
  days_in_stage: "days in the current stage",
  days_since_adopted: "days since adoption",
  measure_score: "measure score",
};

/** Numbers left blank, named by path as the Rust side names them. They are caught here
 * because a blank number cannot cross IPC at all. */
export function blankNumbers(c: Condition, at = "condition."): string[] {
  switch (c.kind) {
    case "all":
    case "any":
      return c.conditions.flatMap((x, i) => blankNumbers(x, `${at}${c.kind}[${i}].`));
    case "not":
      return blankNumbers(c.condition, `${at}not.`);
    case "number":
      return Number.isFinite(c.value) ? [] : [`${at}number(${FIELD_LABEL[c.field.field]}): the value is not a number`];
    default:
      return [];
  }
}

export const NEW_RULE: RuleDefinition = {
  description: "",
  condition: { kind: "all", conditions: [blankCondition("number")] },
  actions: [blankAction("create_cta")],
};

function ConditionEditor({ value, onChange, onRemove, measures, path }: { value: Condition; onChange: (c: Condition) => void; onRemove?: () => void; measures: MeasureInfo[]; path: string }) {
  const head = (
    <select value={value.kind} onChange={(e) => onChange(blankCondition(e.target.value as ConditionKind))} aria-label="Condition kind" data-testid={`cond-kind-${path}`}>
      {CONDITION_KINDS.map(([k, l]) => (
        <option key={k} value={k}>
          {l}
        </option>
      ))}
    </select>
  );
  const remove = onRemove && (
    <button type="button" className="link danger" onClick={onRemove} title="Remove" aria-label="Remove condition">
      ✕
    </button>
  );
  let body: React.ReactNode = null;
  switch (value.kind) {
    case "all":
    case "any": {
      const list = value.conditions;
      const kind = value.kind;
      return (
        <div className="cond-group" data-testid={`cond-${path}`}>
          <div className="cond-row">
            {head}
            <span className="muted small">{kind === "all" ? "every condition below holds" : "at least one condition below holds"}</span>
            {remove}
          </div>
          <div className="cond-children">
            {list.map((c, i) => (
              <ConditionEditor
                key={i}
                path={`${path}.${i}`}
                value={c}
                measures={measures}
                onChange={(n) => onChange({ kind, conditions: list.map((x, j) => (j === i ? n : x)) })}
                onRemove={() => onChange({ kind, conditions: list.filter((_, j) => j !== i) })}
              />
            ))}
            <div className="cond-add">
              <button type="button" className="link" onClick={() => onChange({ kind, conditions: [...list, blankCondition("number")] })} data-testid={`cond-add-${path}`}>
                + condition
              </button>
              <button type="button" className="link" onClick={() => onChange({ kind, conditions: [...list, blankCondition("any")] })}>
                + group
              </button>
            </div>
          </div>
        </div>
      );
    }
    case "not":
      return (
        <div className="cond-group" data-testid={`cond-${path}`}>
          <div className="cond-row">
            {head}
            <span className="muted small">the condition below does not hold</span>
            {remove}
          </div>
          <div className="cond-children">
            <ConditionEditor path={`${path}.0`} value={value.condition} measures={measures} onChange={(n) => onChange({ kind: "not", condition: n })} />
          </div>
        </div>
      );
    case "number": {
      const v = value;
      body = (
        <>
          <select
            value={v.field.field}
            onChange={(e) => {
              const f = e.target.value as FieldKind;
              onChange({ ...v, field: f === "measure_score" ? { field: f, measure: measures[0]?.kind ?? "seat_utilization" } : ({ field: f } as NumberField) });
            }}
            aria-label="Field"
            data-testid={`cond-field-${path}`}
          >
            {FIELDS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
          {v.field.field === "measure_score" && (
            <select value={v.field.measure} onChange={(e) => onChange({ ...v, field: { field: "measure_score", measure: e.target.value as MeasureKind } })} aria-label="Measure">
              {measures.map((m) => (
                <option key={m.kind} value={m.kind}>
                  {m.label}
                </option>
              ))}
            </select>
          )}
          <select value={v.compare} onChange={(e) => onChange({ ...v, compare: e.target.value as Compare })} aria-label="Comparison" data-testid={`cond-compare-${path}`}>
            {COMPARES.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
          <input
            type="number"
            className="num-input"
            value={Number.isFinite(v.value) ? v.value : ""}
            onChange={(e) => onChange({ ...v, value: e.target.value === "" ? Number.NaN : Number(e.target.value) })}
            aria-label="Value"
            data-testid={`cond-value-${path}`}
          />
        </>
      );
      break;
    }
    case "signal": {
      const v = value;
      body = (
        <>
          <select value={v.signal ?? ""} onChange={(e) => onChange({ ...v, signal: (e.target.value || null) as SignalKind | null })} aria-label="Signal">
            <option value="">Any signal</option>
            {SIGNAL_KINDS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
          <span className="muted small">at</span>
          <select value={v.min_severity} onChange={(e) => onChange({ ...v, min_severity: e.target.value as Level })} aria-label="Minimum severity">
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} or above
              </option>
            ))}
          </select>
        </>
      );
      break;
    }
    case "segment_in":
    case "stage_in": {
      const isSeg = value.kind === "segment_in";
      const chosen: string[] = value.kind === "segment_in" ? value.segments : value.stages;
      const all: string[] = isSeg ? SEGMENTS : STAGES;
      const label = (x: string) => (isSeg ? segmentLabel[x as Segment] : stageLabel[x as Stage]);
      const toggle = (x: string, on: boolean) => {
        const next = on ? [...chosen, x] : chosen.filter((y) => y !== x);
        onChange(isSeg ? { kind: "segment_in", segments: next as Segment[] } : { kind: "stage_in", stages: next as Stage[] });
      };
      body = all.map((x) => (
        <label key={x} className="toggle small">
          <input type="checkbox" checked={chosen.includes(x)} onChange={(e) => toggle(x, e.target.checked)} /> {label(x)}
        </label>
      ));
      break;
    }
    case "strategic":
      body = (
        <select value={value.is ? "yes" : "no"} onChange={(e) => onChange({ kind: "strategic", is: e.target.value === "yes" })} aria-label="Strategic">
          <option value="yes">is a strategic account</option>
          <option value="no">is not a strategic account</option>
        </select>
      );
      break;
    case "adopted":
      body = (
        <select value={value.is ? "yes" : "no"} onChange={(e) => onChange({ kind: "adopted", is: e.target.value === "yes" })} aria-label="Adopted">
          <option value="yes">has adopted (by the stage criteria)</option>
          <option value="no">has usage data and has not adopted</option>
        </select>
      );
      break;
    case "expansion_at_least":
      body = (
        <select value={value.potential} onChange={(e) => onChange({ kind: "expansion_at_least", potential: e.target.value as ExpansionPotential })} aria-label="Potential">
          {POTENTIALS.map((p) => (
            <option key={p} value={p}>
              at least {p}
            </option>
          ))}
        </select>
      );
      break;
    case "severity_at_least":
      body = (
        <select value={value.level} onChange={(e) => onChange({ kind: "severity_at_least", level: e.target.value as Level })} aria-label="Severity level" data-testid={`severity-level-${path}`}>
          <option value="high">is High</option>
          <option value="medium">is Medium or High</option>
          <option value="low">is any level (scored)</option>
        </select>
      );
      break;
    case "health_band_is":
      body = <input value={value.band} onChange={(e) => onChange({ kind: "health_band_is", band: e.target.value })} aria-label="Band" placeholder="Band name, e.g. Red" />;
      break;
    case "open_cta": {
      const v = value;
      body = (
        <>
          <select value={v.open ? "yes" : "no"} onChange={(e) => onChange({ ...v, open: e.target.value === "yes" })} aria-label="Has or has not">
            <option value="yes">has</option>
            <option value="no">has no</option>
          </select>
          <span className="muted small">live</span>
          <select value={v.cta_type ?? ""} onChange={(e) => onChange({ ...v, cta_type: (e.target.value || null) as CtaType | null })} aria-label="CTA type">
            <option value="">any</option>
            {CTA_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <span className="muted small">CTA</span>
        </>
      );
      break;
    }
  }
  return (
    <div className="cond-row" data-testid={`cond-${path}`}>
      {head}
      {body}
      {remove}
    </div>
  );
}

function ActionEditor({ value, onChange, onRemove, playbooks, users, index }: { value: Action; onChange: (a: Action) => void; onRemove: () => void; playbooks: Playbook[]; users: User[]; index: number }) {
  let body: React.ReactNode = null;
  switch (value.kind) {
    case "create_cta": {
      const v = value;
      body = (
        <>
          <select value={v.cta_type} onChange={(e) => onChange({ ...v, cta_type: e.target.value as CtaType })} aria-label="CTA type">
            {/* An escalation comes from "Escalate to leadership", never from a lookalike CTA. */}
            {CTA_TYPES.filter((t) => t !== "escalation" || v.cta_type === "escalation").map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <input className="grow" placeholder="Reason shown on the CTA" value={v.reason} onChange={(e) => onChange({ ...v, reason: e.target.value })} data-testid={`action-reason-${index}`} />
          <select value={v.priority} onChange={(e) => onChange({ ...v, priority: e.target.value as Level })} aria-label="Priority">
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
          <select value={v.playbook ?? ""} onChange={(e) => onChange({ ...v, playbook: e.target.value || null })} aria-label="Playbook">
            <option value="">No playbook</option>
            {playbooks.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
          <select
            value={v.owner.kind === "user" ? v.owner.user_id : ""}
            onChange={(e) => onChange({ ...v, owner: e.target.value ? { kind: "user", user_id: e.target.value } : { kind: "account_owner" } })}
            aria-label="Owner"
          >
            <option value="">Account owner</option>
            <UserOptions users={users} />
          </select>
          <label className="toggle small">
            due in
            <input type="number" className="num-input" min={0} max={365} value={v.due_in_days} onChange={(e) => onChange({ ...v, due_in_days: Math.max(0, Number(e.target.value) || 0) })} /> days
          </label>
        </>
      );
      break;
    }
    case "close_when_cleared":
      body = (
        <select value={value.outcome} onChange={(e) => onChange({ kind: "close_when_cleared", outcome: e.target.value })} aria-label="Outcome">
          <option value="resolved">as resolved</option>
          <option value="saved">as saved</option>
          <option value="no_longer_relevant">as no longer relevant</option>
        </select>
      );
      break;
    case "set_category":
      body = <input className="grow" placeholder="Risk category, e.g. product gap" value={value.category} onChange={(e) => onChange({ kind: "set_category", category: e.target.value })} />;
      break;
    case "start_digital_playbook":
      body = (
        <select value={value.playbook} onChange={(e) => onChange({ kind: "start_digital_playbook", playbook: e.target.value })} aria-label="Digital playbook">
          {playbooks
            .filter((p) => p.kind === "digital")
            .map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
        </select>
      );
      break;
    case "add_timeline_note":
      body = <input className="grow" placeholder="Note for the timeline" value={value.text} onChange={(e) => onChange({ kind: "add_timeline_note", text: e.target.value })} />;
      break;
    case "escalate_to_leadership":
      body = (
        <input
          className="grow"
          placeholder="Why leadership should look, e.g. High severity on a large account"
          value={value.reason}
          onChange={(e) => onChange({ kind: "escalate_to_leadership", reason: e.target.value })}
          data-testid={`action-escalate-reason-${index}`}
        />
      );
      break;
  }
  return (
    <div className="cond-row action-row" data-testid={`action-${index}`}>
      <select value={value.kind} onChange={(e) => onChange(blankAction(e.target.value as ActionKind))} aria-label="Action">
        <option value="create_cta">Create a CTA</option>
        <option value="close_when_cleared">Close it when the condition clears</option>
        <option value="set_category">Set risk category</option>
        <option value="start_digital_playbook">Start a digital playbook</option>
        <option value="add_timeline_note">Add a timeline note</option>
        <option value="escalate_to_leadership">Escalate to leadership</option>
      </select>
      {body}
      <button type="button" className="link danger" onClick={onRemove} aria-label="Remove action">
        ✕
      </button>
    </div>
  );
}

/** The rule builder: name, conditions (nested all/any/not groups), actions; a dry-run
 * preview over the whole book before saving; save refuses an invalid rule and says why. */
export function RuleEditor({ rule, onSaved, onCancel }: { rule: Rule | null; onSaved: (r: Rule) => void; onCancel: () => void }) {
  const { backend, reportError } = useApp();
  const [name, setName] = useState(rule?.name ?? "");
  const [definition, setDefinition] = useState<RuleDefinition>(rule?.definition ?? NEW_RULE);
  const [measures, setMeasures] = useState<MeasureInfo[]>([]);
  const [playbooks, setPlaybooks] = useState<Playbook[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [preview, setPreview] = useState<RunReport | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    backend.measureKinds().then(setMeasures).catch(reportError);
    backend.listPlaybooks().then(setPlaybooks).catch(reportError);
    backend.listUsers().then(setUsers).catch(reportError);
  }, [backend, reportError]);

  const guarded = async (f: () => Promise<void>) => {
    const blanks = blankNumbers(definition.condition);
    if (blanks.length > 0) {
      setProblem(`Invalid rule ${name.trim()}: ${blanks.join("; ")}.`);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await f();
    } catch (e) {
      if (e instanceof BackendError) setProblem(e.message);
      else reportError(e);
    } finally {
      setBusy(false);
    }
  };
  const edit = (d: RuleDefinition) => {
    setDefinition(d);
    setPreview(null);
  };

  return (
    <section className="card rule-editor" data-testid="rule-editor">
      <h2>{rule ? `Edit rule` : "New rule"}</h2>
      <div className="edit-form">
        <label className="wide">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Red renewal in 90 days" data-testid="rule-name" />
        </label>
        <label className="wide">
          Description
          <input value={definition.description} onChange={(e) => edit({ ...definition, description: e.target.value })} placeholder="What this rule is for" />
        </label>
      </div>
      <h3>When</h3>
      <ConditionEditor path="c" value={definition.condition} measures={measures} onChange={(c) => edit({ ...definition, condition: c })} />
      <h3>Then</h3>
      {definition.actions.map((a, i) => (
        <ActionEditor
          key={i}
          index={i}
          value={a}
          playbooks={playbooks}
          users={users}
          onChange={(n) => edit({ ...definition, actions: definition.actions.map((x, j) => (j === i ? n : x)) })}
          onRemove={() => edit({ ...definition, actions: definition.actions.filter((_, j) => j !== i) })}
        />
      ))}
      <button type="button" className="link" onClick={() => edit({ ...definition, actions: [...definition.actions, blankAction("close_when_cleared")] })}>
        + action
      </button>
      {problem && (
        <p className="problem" role="alert" data-testid="rule-problem">
          {problem}
        </p>
      )}
      <div className="actions">
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="button secondary" disabled={busy} onClick={() => guarded(async () => setPreview(await backend.previewRule(name, definition)))} data-testid="rule-preview">
          Preview (dry run)
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => guarded(async () => onSaved(await backend.saveRule(rule?.id ?? null, name, rule?.enabled ?? true, definition)))} data-testid="rule-save">
          Save rule
        </button>
      </div>
      {preview && <PreviewTable report={preview} />}
    </section>
  );
}

const OUTCOME_LABEL: Record<string, string> = { create: "would create", already_open: "already open", suppressed: "snoozed: suppressed", close: "would close" };

export function PreviewTable({ report }: { report: RunReport }) {
  const shown = report.firings.slice(0, 200);
  const total = report.firings.length + report.firings_left_out;
  const active = report.by_rule.filter((c) => c.fired + c.closed > 0);
  return (
    <div className="preview" data-testid="rule-preview-result">
      <p>
        <strong data-testid="preview-summary">
          {report.fired.toLocaleString("en-US")} {report.by_rule.length === 1 ? "of" : "firings over"} {report.accounts.toLocaleString("en-US")} accounts
          {report.by_rule.length === 1 ? " match" : ""} · {report.created} new CTAs
          {report.escalated > 0 && ` · ${report.escalated} escalations`} · {report.closed} closed · {report.suppressed} suppressed
        </strong>{" "}
        <span className="muted small">in {report.duration_ms} ms; nothing was changed</span>
      </p>
      {report.errors.map((e) => (
        <p key={e} className="problem">
          {e}
        </p>
      ))}
      {active.length > 1 && (
        <table className="measures compact" data-testid="preview-by-rule">
          <thead>
            <tr>
              <th>Rule</th>
              <th className="num">Fired</th>
              <th className="num">New</th>
              <th className="num">Already open</th>
              <th className="num">Suppressed</th>
              <th className="num">Closed</th>
            </tr>
          </thead>
          <tbody>
            {active.map((c) => (
              <tr key={c.rule}>
                <td>{c.rule}</td>
                <td className="num">{c.fired}</td>
                <td className="num">{c.created}</td>
                <td className="num">{c.already_open}</td>
                <td className="num">{c.suppressed}</td>
                <td className="num">{c.closed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown.length > 0 && (
        <table className="measures compact">
          <thead>
            <tr>
              <th>Account</th>
              <th>Outcome</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((f, i) => (
              <tr key={`${f.account_id}-${f.rule}-${i}`} data-testid="preview-row">
                <td>{f.account_name}</td>
                <td>{OUTCOME_LABEL[f.outcome] ?? f.outcome}</td>
                <td className="muted">{f.evidence.join("; ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > shown.length && (
        <p className="muted small" data-testid="preview-cut">
          First {shown.length} of {total.toLocaleString("en-US")} firings shown; the counts above cover all of them (`riskdesk rules run --dry-run` lists every one).
        </p>
      )}
    </div>
  );
}
