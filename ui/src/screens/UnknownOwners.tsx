// The check step's owners Riskdesk does not know: their accounts would come in
// unassigned. Each can stay so, become a new person made from the file's value, or be
// mapped to someone the store knows (a CRM id is then kept on that person, so the next
// import maps it by itself).
import { useEffect, useState } from "react";
import type { OwnerMapping, Person, UnknownOwner } from "../backend";
import { useApp } from "../context";

type Choice = { action: "leave" | "create" | "map"; userId: string; name: string; email: string };

const LOOKS: Record<UnknownOwner["looks_like"], string> = {
  salesforce_id: "Salesforce user id",
  hubspot_id: "HubSpot owner id",
  email: "email",
  name: "name",
};

function guess(o: UnknownOwner): Choice {
  if (o.looks_like === "email") {
    const local = o.value.split("@")[0] ?? "";
    const name = local
      .split(/[._-]+/)
      .filter(Boolean)
      .map((p) => p[0].toUpperCase() + p.slice(1))
      .join(" ");
    return { action: "create", userId: "", name, email: o.value };
  }
  if (o.looks_like === "name") return { action: "create", userId: "", name: o.value, email: "" };
  // A CRM id says nothing of who it is: the user picks someone, or leaves it.
  return { action: "leave", userId: "", name: "", email: "" };
}

export function UnknownOwners({ owners, accounts, onResolved }: { owners: UnknownOwner[]; accounts: number; onResolved: (mappings: OwnerMapping[]) => void }) {
  const { backend, reportError } = useApp();
  const [people, setPeople] = useState<Person[]>([]);
  const [choices, setChoices] = useState<Choice[]>(() => owners.map(guess));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    backend
      .peopleList()
      .then((all) => setPeople(all.filter((p) => p.active)))
      .catch(reportError);
  }, [backend, reportError]);

  const change = (i: number, c: Partial<Choice>) => setChoices(choices.map((x, j) => (j === i ? { ...x, ...c } : x)));
  const pending = choices.filter((c) => c.action !== "leave").length;

  const apply = async () => {
    setBusy(true);
    setProblem(null);
    const mappings: OwnerMapping[] = [];
    try {
      for (const [i, o] of owners.entries()) {
        const c = choices[i];
        const ids = { salesforce_id: o.looks_like === "salesforce_id" ? o.value : null, hubspot_id: o.looks_like === "hubspot_id" ? o.value : null };
        if (c.action === "create") {
          const p = await backend.peopleAdd({ name: c.name.trim(), email: c.email.trim(), role: "csm", title: null, team: null, ...ids });
          mappings.push({ value: o.value, user_id: p.id });
        } else if (c.action === "map") {
          const p = people.find((x) => x.id === c.userId);
          if (!p) throw new Error(`${o.value}: pick the person it means`);
          // A CRM id is kept on the person, so the next file maps it by itself.
          if ((ids.salesforce_id && !p.salesforce_id) || (ids.hubspot_id && !p.hubspot_id)) {
            await backend.peopleAdd({
              name: p.name,
              email: p.email,
              role: p.role,
              title: p.title,
              team: p.team,
              salesforce_id: p.salesforce_id ?? ids.salesforce_id,
              hubspot_id: p.hubspot_id ?? ids.hubspot_id,
            });
          }
          mappings.push({ value: o.value, user_id: p.id });
        }
      }
      onResolved(mappings);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
      // What was made stands; checking again shows what is left.
      if (mappings.length > 0) onResolved(mappings);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="unknown-owners" data-testid="unknown-owners">
      <p className="problem">
        {accounts.toLocaleString("en-US")} account{accounts === 1 ? "" : "s"} name {owners.length} owner{owners.length === 1 ? "" : "s"} Riskdesk does not know. They come in
        unassigned unless you say who they are:
      </p>
      <table className="measures compact">
        <thead>
          <tr>
            <th>Owner in the file</th>
            <th className="num">Accounts</th>
            <th>What to do</th>
          </tr>
        </thead>
        <tbody>
          {owners.map((o, i) => {
            const c = choices[i];
            return (
              <tr key={o.value} data-testid="unknown-owner">
                <td>
                  <code>{o.value}</code> <span className="muted small">{LOOKS[o.looks_like]}</span>
                </td>
                <td className="num">{o.accounts.toLocaleString("en-US")}</td>
                <td className="owner-choice">
                  <select value={c.action} onChange={(e) => change(i, { action: e.target.value as Choice["action"] })} aria-label={`What to do with ${o.value}`} data-testid="owner-action">
                    <option value="leave">Leave unassigned</option>
                    <option value="create">Add as a new person</option>
                    <option value="map">Is someone Riskdesk knows</option>
                  </select>
                  {c.action === "create" && (
                    <>
                      <input value={c.name} onChange={(e) => change(i, { name: e.target.value })} placeholder="Full name" aria-label="Name" data-testid="owner-name" />
                      <input value={c.email} onChange={(e) => change(i, { email: e.target.value })} placeholder="Email" aria-label="Email" data-testid="owner-email" />
                    </>
                  )}
                  {c.action === "map" && (
                    <select value={c.userId} onChange={(e) => change(i, { userId: e.target.value })} aria-label="Person" data-testid="owner-person">
                      <option value="">Pick a person…</option>
                      {people.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.name} · {p.email}
                        </option>
                      ))}
                    </select>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {problem && (
        <p className="error-text" data-testid="owners-problem">
          {problem}
        </p>
      )}
      <div className="actions">
        <button className="button secondary" onClick={apply} disabled={busy || pending === 0} data-testid="owners-apply">
          {pending === 0 ? "Nothing to add or map" : `Add or map ${pending} and check again`}
        </button>
      </div>
    </div>
  );
}
