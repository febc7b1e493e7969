// Import wizard: what and which file → which column is which → check every row → import.
// Nothing is written until the user has seen the check; a file with errors is either
// fixed and re-checked, or imported without its bad rows, which come back as a CSV.
import { useCallback, useEffect, useState } from "react";
import type { Analysis, FieldMapping, ImportKind, ImportLogEntry, ImportMode, ImportProgress, ImportReport, OwnerMapping } from "../backend";
import { ProgressBar } from "../components/ProgressBar";
import { useApp } from "../context";
import { formatBytes } from "../format";
import { UnknownOwners } from "./UnknownOwners";

const KINDS: Array<{ kind: ImportKind; label: string; about: string }> = [
  { kind: "accounts", label: "Accounts", about: "A company export from Salesforce, HubSpot or another CRM" },
  { kind: "contacts", label: "Contacts", about: "People at your accounts; sponsors and champions matter most" },
  { kind: "usage", label: "Usage", about: "Weekly active users, seats, logins and feature adoption" },
  { kind: "tickets", label: "Support tickets", about: "Cases from your help desk, open and resolved" },
  { kind: "nps", label: "NPS responses", about: "Survey scores 0–10 with comments" },
];

const PHASES: Record<string, string> = { reading: "Reading the file", writing: "Writing to the store", scoring: "Re-scoring the accounts" };

type Step = "file" | "columns" | "check" | "done";

function Progress({ p }: { p: ImportProgress | null }) {
  if (!p) return null;
  return <ProgressBar label={PHASES[p.phase] ?? p.phase} done={p.done} total={p.total} testId="import-progress" />;
}

function n(v: number): string {
  return v.toLocaleString("en-US");
}

export function ImportScreen({ onOpenAccounts }: { onOpenAccounts: () => void }) {
  const { backend, currencies, reportError } = useApp();
  const [step, setStep] = useState<Step>("file");
  const [kind, setKind] = useState<ImportKind>("accounts");
  const [path, setPath] = useState("");
  const [currency, setCurrency] = useState("USD");
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [mapping, setMapping] = useState<FieldMapping[]>([]);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [busy, setBusy] = useState(false);
  const [rejectsPath, setRejectsPath] = useState("");
  const [history, setHistory] = useState<ImportLogEntry[]>([]);
  const [ownerMap, setOwnerMap] = useState<OwnerMapping[]>([]);

  const loadHistory = useCallback(() => {
    backend.importHistory().then(setHistory).catch(reportError);
  }, [backend, reportError]);
  useEffect(loadHistory, [loadHistory]);

  const analyze = () => {
    setBusy(true);
    backend
      .analyzeImport(kind, path.trim())
      .then((a) => {
        setAnalysis(a);
        setMapping(a.mapping);
        setStep("columns");
      })
      .catch(reportError)
      .finally(() => setBusy(false));
  };

  const run = (mode: ImportMode, owners: OwnerMapping[] = ownerMap) => {
    setBusy(true);
    setProgress(null);
    backend
      .runImport(
        { kind, path: path.trim(), mapping, default_currency: currency, mode, rejects_path: rejectsPath.trim() || null, owner_map: owners },
        setProgress,
      )
      .then((r) => {
        setReport(r);
        setStep(mode === "check" ? "check" : "done");
        if (mode !== "check") loadHistory();
      })
      .catch(reportError)
      .finally(() => {
        setBusy(false);
        setProgress(null);
      });
  };

  const restart = () => {
    setStep("file");
    setAnalysis(null);
    setReport(null);
    setPath("");
    setRejectsPath("");
    setOwnerMap([]);
  };

  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Import</h1>
        <span className="muted">Bring your CRM, product and survey data in from CSV files. Nothing is written until you have seen the check.</span>
      </div>
      <ol className="steps" aria-label="Steps">
        {(["file", "columns", "check", "done"] as Step[]).map((s, i) => (
          <li key={s} className={s === step ? "current" : undefined}>
            {i + 1}. {{ file: "File", columns: "Columns", check: "Check", done: "Done" }[s]}
          </li>
        ))}
      </ol>

      {step === "file" && (
        <section className="card import-card">
          <h2>What are you importing?</h2>
          <div className="kind-grid" role="radiogroup" aria-label="What to import">
            {KINDS.map((k) => (
              <label key={k.kind} className={k.kind === kind ? "kind-option active" : "kind-option"}>
                <input type="radio" name="kind" checked={k.kind === kind} onChange={() => setKind(k.kind)} data-testid={`import-kind-${k.kind}`} />
                <strong>{k.label}</strong>
                <span className="muted small">{k.about}</span>
              </label>
            ))}
          </div>
          <h2>Which file?</h2>
          <div className="inline-form">
            <button
              className="button secondary"
              type="button"
              onClick={() =>
                backend
                  .pickCsvFile()
                  .then((p) => p && setPath(p))
                  .catch(reportError)
              }
              data-testid="import-choose"
            >
              Choose file…
            </button>
            <input className="grow" value={path} onChange={(e) => setPath(e.target.value)} placeholder="…or paste the path of a .csv file" aria-label="File path" data-testid="import-path" />
          </div>
          {kind === "accounts" && (
            <label className="toggle">
              Amounts that name no currency are in
              <select value={currency} onChange={(e) => setCurrency(e.target.value)} aria-label="Default currency">
                {[...(currencies.size ? currencies.keys() : ["USD"])].map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </label>
          )}
          <div className="actions">
            <button className="button" disabled={!path.trim() || busy} onClick={analyze} data-testid="import-next">
              Next: columns
            </button>
          </div>
        </section>
      )}

      {step === "columns" && analysis && (
        <ColumnsStep
          analysis={analysis}
          mapping={mapping}
          onChange={setMapping}
          busy={busy}
          progress={progress}
          onBack={() => setStep("file")}
          onCheck={() => run("check")}
        />
      )}

      {step === "check" && report && (
        <section className="card import-card" data-testid="import-check">
          <h2>Check of {analysis?.file_name}</h2>
          <Summary report={report} />
          {report.rejected === 0 ? (
            <p className="ok">Every row is valid.</p>
          ) : (
            <ErrorTable report={report} />
          )}
          {report.unknown_owners.length > 0 && (
            <UnknownOwners
              key={report.unknown_owners.map((o) => o.value).join("|")}
              owners={report.unknown_owners}
              accounts={report.unknown_owners.reduce((sum, o) => sum + o.accounts, 0)}
              onResolved={(added) => {
                const next = [...ownerMap.filter((m) => !added.some((a) => a.value === m.value)), ...added];
                setOwnerMap(next);
                run("check", next);
              }}
            />
          )}
          <Progress p={progress} />
          <div className="actions">
            <button className="button secondary" onClick={() => setStep("columns")} disabled={busy}>
              Back to columns
            </button>
            {report.rejected > 0 && (
              <button className="button secondary" onClick={() => run("check")} disabled={busy} data-testid="import-recheck">
                I fixed the file: check again
              </button>
            )}
            {report.rejected === 0 ? (
              <button className="button" onClick={() => run("all_or_nothing")} disabled={busy || report.valid === 0} data-testid="import-commit">
                Import {n(report.valid)} rows
              </button>
            ) : (
              <button className="button" onClick={() => run("valid_rows")} disabled={busy || report.valid === 0} data-testid="import-commit-valid">
                Import the {n(report.valid)} valid rows
              </button>
            )}
          </div>
          {report.rejected > 0 && (
            <label className="inline-form rejects-path">
              <span className="muted">Rejected rows go to</span>
              <input className="grow" value={rejectsPath} onChange={(e) => setRejectsPath(e.target.value)} placeholder={`${analysis?.path.replace(/\.[^./\\]*$/, "")}-rejects.csv`} aria-label="Rejects file" />
            </label>
          )}
        </section>
      )}

      {step === "done" && report && (
        <section className="card import-card" data-testid="import-done">
          <h2>{report.committed ? "Imported" : "Nothing imported"}</h2>
          <Summary report={report} />
          {report.touched_accounts > 0 && <p className="muted">Re-scored {n(report.touched_accounts)} accounts and ran the rules over them.</p>}
          {report.rejects_path && (
            <p className="problem" data-testid="import-rejects">
              {n(report.rejected)} rows were not imported; they are in {report.rejects_path} with the reason on each line.
            </p>
          )}
          <div className="actions">
            {kind === "accounts" && (
              <button className="button" onClick={onOpenAccounts} data-testid="import-open-accounts">
                Open Accounts
              </button>
            )}
            <button className="button secondary" onClick={restart}>
              Import another file
            </button>
          </div>
        </section>
      )}

      <section className="card import-card">
        <h2>Recent imports</h2>
        {history.length === 0 ? (
          <p className="empty">No imports yet.</p>
        ) : (
          <table className="measures compact" data-testid="import-history">
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th>File</th>
                <th className="num">Rows</th>
                <th className="num">New</th>
                <th className="num">Updated</th>
                <th className="num">Unchanged</th>
                <th className="num">Rejected</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr key={h.id}>
                  <td>{new Date(h.imported_at).toLocaleString()}</td>
                  <td>{KINDS.find((k) => k.kind === h.kind)?.label ?? h.kind}</td>
                  <td>{h.file_name}</td>
                  <td className="num">{n(h.rows_read)}</td>
                  <td className="num">{n(h.inserted)}</td>
                  <td className="num">{n(h.updated)}</td>
                  <td className="num">{n(h.unchanged)}</td>
                  <td className="num">{n(h.rejected)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function ColumnsStep({
  analysis,
  mapping,
  onChange,
  busy,
  progress,
  onBack,
  onCheck,
}: {
  analysis: Analysis;
  mapping: FieldMapping[];
  onChange: (m: FieldMapping[]) => void;
  busy: boolean;
  progress: ImportProgress | null;
  onBack: () => void;
  onCheck: () => void;
}) {
  const column = (field: string) => mapping.find((m) => m.field === field)?.column ?? null;
  const samples = (col: string | null) => {
    if (!col) return [];
    const i = analysis.headers.indexOf(col);
    return analysis.samples.map((r) => r[i] ?? "").filter((v) => v !== "").slice(0, 3);
  };
  const missing = analysis.fields.filter((f) => f.required && !column(f.key));
  const set = (field: string, col: string | null) => onChange(mapping.map((m) => (m.field === field ? { ...m, column: col } : m)));
  const size = formatBytes(analysis.size_bytes);
  return (
    <section className="card import-card" data-testid="import-columns">
      <div className="card-head">
        <h2>{analysis.file_name}</h2>
        <span className="muted small" data-testid="import-source">
          {analysis.source ? `Recognised a ${analysis.source} export · ` : ""}
          {analysis.headers.length} columns · {analysis.delimiter}-separated · {size}
        </span>
      </div>
      {analysis.warnings.map((w) => (
        <p key={w} className="muted small">
          ⚠ {w}
        </p>
      ))}
      <table className="measures compact mapping">
        <thead>
          <tr>
            <th>Riskdesk field</th>
            <th>Column in your file</th>
            <th>Sample values</th>
          </tr>
        </thead>
        <tbody>
          {analysis.fields.map((f) => (
            <tr key={f.key} data-testid={`map-${f.key}`}>
              <td>
                <strong>{f.label}</strong>
                {f.required && <span className="required" title="Required"> *</span>}
                {f.hint && <small className="muted block">{f.hint}</small>}
              </td>
              <td>
                <select value={column(f.key) ?? ""} onChange={(e) => set(f.key, e.target.value || null)} aria-label={`Column for ${f.label}`} data-testid={`map-select-${f.key}`}>
                  <option value="">{f.required ? "— choose a column —" : "— not imported —"}</option>
                  {analysis.headers.map((h) => (
                    <option key={h} value={h}>
                      {h}
                    </option>
                  ))}
                </select>
              </td>
              <td className="muted small">{samples(column(f.key)).join(" · ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {missing.length > 0 && <p className="problem small">Choose a column for {missing.map((f) => f.label).join(", ")}.</p>}
      <Progress p={progress} />
      <div className="actions">
        <button className="button secondary" onClick={onBack} disabled={busy}>
          Back
        </button>
        <button className="button" onClick={onCheck} disabled={busy || missing.length > 0} data-testid="import-check-rows">
          Check all rows
        </button>
      </div>
    </section>
  );
}

function Summary({ report }: { report: ImportReport }) {
  return (
    <div className="head-stats import-summary" data-testid="import-summary">
      <div>
        <strong>{n(report.rows)}</strong>
        <span className="muted small">rows read</span>
      </div>
      <div>
        <strong>{n(report.valid)}</strong>
        <span className="muted small">valid</span>
      </div>
      <div className={report.rejected ? "problem" : undefined}>
        <strong>{n(report.rejected)}</strong>
        <span className="muted small">with errors</span>
      </div>
      <div>
        <strong data-testid="import-inserted">{n(report.inserted)}</strong>
        <span className="muted small">{report.committed ? "new" : "would be new"}</span>
      </div>
      <div>
        <strong>{n(report.updated)}</strong>
        <span className="muted small">{report.committed ? "updated" : "would change"}</span>
      </div>
      <div>
        <strong>{n(report.unchanged)}</strong>
        <span className="muted small">unchanged</span>
      </div>
    </div>
  );
}

function ErrorTable({ report }: { report: ImportReport }) {
  return (
    <>
      <p className="problem" data-testid="import-error-count">
        {n(report.rejected)} rows have {n(report.error_count)} problems
        {report.error_count > report.errors.length ? ` (the first ${n(report.errors.length)} are listed)` : ""}.
      </p>
      <div className="error-scroll">
        <table className="measures compact" data-testid="import-errors">
          <thead>
            <tr>
              <th className="num">Line</th>
              <th>Column</th>
              <th>Value</th>
              <th>Problem</th>
            </tr>
          </thead>
          <tbody>
            {report.errors.map((e, i) => (
              <tr key={`${e.line}-${e.column}-${i}`}>
                <td className="num">{e.line}</td>
                <td>{e.column || "(row)"}</td>
                <td>{e.value ? <code>{e.value}</code> : <span className="muted">(empty)</span>}</td>
                <td>{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
