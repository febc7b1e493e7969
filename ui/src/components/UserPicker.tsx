import { useEffect, useMemo, useState } from "react";
import type { User } from "../backend";
import { teamOf, useApp } from "../context";

/** First start: the user says who they are; "my" views use it from then on. */
export function UserPicker({ onChosen }: { onChosen: (u: User) => void }) {
  const { backend, teams, reportError } = useApp();
  const [users, setUsers] = useState<User[] | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
  }, [backend, reportError]);

  const groups = useMemo(() => groupUsers(users ?? []), [users]);

  const choose = async (u: User) => {
    setBusy(true);
    try {
      onChosen(await backend.setCurrentUser(u.id));
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-labelledby="picker-title" data-testid="user-picker">
        <h2 id="picker-title">Welcome to Riskdesk. Who are you?</h2>
        <p className="muted">
          This store holds a demo book of business. Pick one of the demo CSMs or managers; your worklist and “my” views follow
          from it. You can change it later in Settings.
        </p>
        {!users && <p className="muted">Loading people…</p>}
        <div className="picker-groups">
          {groups.map(([label, list]) => (
            <section key={label}>
              <h3>{label}</h3>
              <ul className="picker-list">
                {list.map((u) => (
                  <li key={u.id}>
                    <button disabled={busy} onClick={() => choose(u)} data-testid="pick-user">
                      <strong>{u.name}</strong>
                      <small>{u.role === "csm" ? teamOf(u, teams) : u.title}</small>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      </div>
    </div>
  );
}

export function groupUsers(users: User[]): Array<[string, User[]]> {
  const order: Array<[string, (u: User) => boolean]> = [
    ["Customer Success Managers", (u) => u.role === "csm"],
    ["Managers", (u) => u.role === "manager"],
    ["Leadership and CS Ops", (u) => u.role === "executive" || u.role === "admin"],
  ];
  return order
    .map(([label, keep]): [string, User[]] => [label, users.filter(keep).sort((a, b) => a.name.localeCompare(b.name))])
    .filter(([, list]) => list.length > 0);
}
