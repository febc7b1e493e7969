// Settings › People: the team, added by hand or imported from a CRM's user export, with
// the CRM ids an account export's owner column maps to. People are deactivated, never
// deleted: they stay on the accounts and CTAs they own.
import { useCallback, useEffect, useState } from "react";
import type { NewPerson, PeopleReport, Person, Role, SyncStatus } from "../backend";
import { useApp } from "../context";
import { roleLabel } from "../format";

const EMPTY: NewPerson = { name: "", email: "", role: "csm", title: null, team: null, salesforce_id: null, hubspot_id: null };
const ROLES: Role[] = ["csm", "manager", "executive", "admin"];

export function PeopleSettings() {
  const { backend, reportError } = useApp();
  const [people, setPeople] = useState<Person[] | null>(null);
  const [draft, setDraft] = useState<NewPerson>(EMPTY);
  const [file, setFile] = useState("");
  const [report, setReport] = useState<PeopleReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [sync, setSync] = useState<SyncStatus | null>(null);

  const load = useCallback(() => {
    backend.peopleList().then(setPeople).catch(reportError);
  }, [backend, reportError]);
  useEffect(load, [load]);
  useEffect(() => {
    backend.syncStatus().then(setSync).catch(reportError);
  }, [backend, reportError]);

  const text = (v: string) => (v.trim() ? v : null);
  const importFile = (check: boolean) => {
    setBusy(true);
    backend
      .peopleImport(file, check)
      .then((r) => {
        setReport(r);
        if (r.committed) load();
      })
      .catch(reportError)
      .finally(() => setBusy(false));
  };

  if (!people) return <p className="empty">Loading…</p>;
  return (
    <section className="card settings-card wide" data-testid="people-settings">
      <h2>People</h2>
      <p className="muted">
        Your team, with the ids your CRM knows them by: an account export's owner column (name, email, Salesforce <code>OwnerId</code> or HubSpot owner id) maps to them. An owner Riskdesk does not know leaves the account unassigned.
      </p>
      {sync?.connected && (
        <p className="note" data-testid="people-server-truth">
          This device syncs with {sync.server_url ?? "a team server"}: its people are the truth. Changes made here go to it, and only an admin or a manager (signed in as one) may make them.
        </p>
      )}
      <h3>Import a CRM user export</h3>
      <p className="muted small">A Salesforce User report (Id, Full Name, Email, Title, Role) or a HubSpot owners export (Owner ID, First name, Last name, Email, Team). Check it first; importing the same file again changes nothing.</p>
      <div className="actions">
        <button
          className="button secondary"
          onClick={() =>
            backend
              .pickCsvFile()
              .then((p) => p && setFile(p))
              .catch(reportError)
          }
        >
          Choose file…
        </button>
        <input className="people-file" value={file} onChange={(e) => setFile(e.target.value)} placeholder="/path/to/users.csv" data-testid="people-file" />
        <button className="button secondary" disabled={busy || !file.trim()} onClick={() => importFile(true)} data-testid="people-check">
          Check
        </button>
        <button className="button" disabled={busy || !file.trim()} onClick={() => importFile(false)} data-testid="people-import">
          Import
        </button>
      </div>
      {report && (
        <div data-testid="people-report">
          <p className={report.rejected ? "problem small" : "ok small"}>
            {report.format}: {report.rows} rows — {report.inserted} new, {report.updated} changed, {report.unchanged} unchanged, {report.rejected} rejected
            {report.committed ? "." : " (checked; nothing written yet)."}
          </p>
          {report.errors.length > 0 && (
            <ul className="small">
              {report.errors.map((e, i) => (
                <li key={i}>
                  line {e.line}, {e.column}: {e.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <h3>Add a person</h3>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          backend
            .peopleAdd(draft)
            .then(() => {
              setDraft(EMPTY);
              load();
            })
            .catch(reportError);
        }}
      >
        <input placeholder="Name" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} data-testid="person-name" />
        <input placeholder="Email" value={draft.email} onChange={(e) => setDraft({ ...draft, email: e.target.value })} data-testid="person-email" />
        <select value={draft.role ?? "csm"} onChange={(e) => setDraft({ ...draft, role: e.target.value as Role })} data-testid="person-role">
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {roleLabel[r]}
            </option>
          ))}
        </select>
        <input placeholder="Team" value={draft.team ?? ""} onChange={(e) => setDraft({ ...draft, team: text(e.target.value) })} />
        <input placeholder="Salesforce user id" value={draft.salesforce_id ?? ""} onChange={(e) => setDraft({ ...draft, salesforce_id: text(e.target.value) })} />
        <input placeholder="HubSpot owner id" value={draft.hubspot_id ?? ""} onChange={(e) => setDraft({ ...draft, hubspot_id: text(e.target.value) })} />
        <button className="button" disabled={!draft.name.trim() || !draft.email.trim()} data-testid="person-add">
          Add
        </button>
      </form>
      <table className="measures compact" data-testid="people-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Team</th>
            <th className="num">Accounts</th>
            <th>CRM ids</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {people.map((p) => (
            <tr key={p.id} className={p.active ? "" : "missing"} data-testid="person-row">
              <td>
                <div className="nowrap">{p.name}</div>
                {p.title && <div className="muted small">{p.title}</div>}
              </td>
              <td>{p.email}</td>
              <td>{roleLabel[p.role]}</td>
              <td>{p.team ?? <span className="muted">—</span>}</td>
              <td className="num">{p.accounts}</td>
              <td className="small nowrap">{[p.salesforce_id && `Salesforce ${p.salesforce_id}`, p.hubspot_id && `HubSpot ${p.hubspot_id}`].filter(Boolean).join(" · ") || <span className="muted">—</span>}</td>
              <td>
                <button
                  className="link"
                  onClick={() =>
                    backend
                      .peopleSetActive(p.id, !p.active)
                      .then(load)
                      .catch(reportError)
                  }
                  data-testid="person-active"
                >
                  {p.active ? "Deactivate" : "Reactivate"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
