import { useEffect, useState } from "react";
import type { AccountRow, CtaDetail, CtaType, Level, ManualCta, Playbook, User } from "../backend";
import { useApp } from "../context";
import { PriorityOptions, UserOptions } from "../components/Shared";

export const CTA_TYPES: CtaType[] = ["risk", "escalation", "renewal", "expansion", "onboarding", "digital"];

function inDays(n: number): string {
  return new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Opens a CTA by hand. On an account page the account is fixed; in the Cockpit the user
 * finds it by name. The owner defaults to the current user.
 */
export function NewCtaForm({
  accountId,
  onCreated,
  onCancel,
  preset,
}: {
  accountId?: string;
  onCreated: (d: CtaDetail) => void;
  onCancel: () => void;
  /** Starting values, e.g. an escalation at high priority. */
  preset?: { cta_type?: CtaType; priority?: Level; reason?: string };
}) {
  const { backend, user, reportError } = useApp();
  const [users, setUsers] = useState<User[]>([]);
  const [playbooks, setPlaybooks] = useState<Playbook[]>([]);
  const [search, setSearch] = useState("");
  const [matches, setMatches] = useState<AccountRow[]>([]);
  const [account, setAccount] = useState<{ id: string; name: string } | null>(accountId ? { id: accountId, name: "" } : null);
  const [form, setForm] = useState({
    cta_type: preset?.cta_type ?? ("risk" as CtaType),
    reason: preset?.reason ?? "",
    priority: preset?.priority ?? ("medium" as Level),
    owner_id: user?.id ?? "",
    due_on: inDays(7),
    playbook_id: "",
    category: "",
  });
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    backend.listUsers().then(setUsers).catch(reportError);
    backend.listPlaybooks().then(setPlaybooks).catch(reportError);
  }, [backend, reportError]);

  useEffect(() => {
    if (accountId || search.trim().length < 2) {
      setMatches([]);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      backend
        .queryAccounts({ search, owner_id: null, segment: null, stage: null, sort: "name", descending: false, offset: 0, limit: 8 })
        .then((p) => live && setMatches(p.rows))
        .catch(reportError);
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [backend, accountId, search, reportError]);

  const submit = async () => {
    if (!account) return;
    const cta: ManualCta = {
      account_id: account.id,
      cta_type: form.cta_type,
      reason: form.reason,
      priority: form.priority,
      owner_id: form.owner_id || null,
      due_on: form.due_on || null,
      playbook_id: form.playbook_id || null,
      category: form.category || null,
    };
    setSaving(true);
    try {
      onCreated(await backend.createCta(cta));
    } catch (e) {
      reportError(e);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      className="new-cta edit-form"
      data-testid="new-cta-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {!accountId && (
        // Not a <label>: a click on a match must reach the match, not the search box.
        <div className="wide field-like">
          <span>Account</span>
          {account ? (
            <span className="chosen">
              <strong data-testid="new-cta-account">{account.name}</strong>{" "}
              <button type="button" className="link" onClick={() => setAccount(null)}>
                change
              </button>
            </span>
          ) : (
            <>
              <input autoFocus placeholder="Find an account by name…" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="new-cta-search" />
              {matches.length > 0 && (
                <ul className="matches">
                  {matches.map((m) => (
                    <li key={m.id}>
                      <button type="button" className="link" onClick={() => setAccount({ id: m.id, name: m.name })} data-testid="new-cta-match">
                        {m.name}
                      </button>{" "}
                      <small className="muted">{m.owner_name ?? "unassigned"}</small>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
      )}
      <label className="wide">
        Reason
        <input
          autoFocus={!!accountId}
          placeholder="Why this needs doing, e.g. Champion is leaving in January"
          value={form.reason}
          onChange={(e) => setForm({ ...form, reason: e.target.value })}
          data-testid="new-cta-reason"
        />
      </label>
      <label>
        Type
        <select value={form.cta_type} onChange={(e) => setForm({ ...form, cta_type: e.target.value as CtaType })} data-testid="new-cta-type">
          {CTA_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Priority
        <select value={form.priority} onChange={(e) => setForm({ ...form, priority: e.target.value as Level })} data-testid="new-cta-priority">
          <PriorityOptions />
        </select>
      </label>
      <label>
        Due
        <input type="date" value={form.due_on} onChange={(e) => setForm({ ...form, due_on: e.target.value })} />
      </label>
      <label>
        Owner
        <select value={form.owner_id} onChange={(e) => setForm({ ...form, owner_id: e.target.value })}>
          <option value="">Unassigned</option>
          <UserOptions users={users} />
        </select>
      </label>
      <label>
        Playbook
        <select value={form.playbook_id} onChange={(e) => setForm({ ...form, playbook_id: e.target.value })} data-testid="new-cta-playbook">
          <option value="">None</option>
          {playbooks.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Risk category
        <input value={form.category} placeholder="optional" onChange={(e) => setForm({ ...form, category: e.target.value })} />
      </label>
      <div className="actions wide">
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
        <button className="button" disabled={!account || !form.reason.trim() || saving} data-testid="new-cta-save">
          Create CTA
        </button>
      </div>
    </form>
  );
}
