// Small pieces several screens share.
import type { CtaScope, RiskUpdate, User } from "../backend";
import { formatDate } from "../format";

/** `<option>`s for choosing a person to own something (admins own nothing). */
export function UserOptions({ users }: { users: User[] }) {
  return (
    <>
      {users
        .filter((u) => u.role !== "admin")
        .map((u) => (
          <option key={u.id} value={u.id}>
            {u.name}
          </option>
        ))}
    </>
  );
}

/** A weekly risk update: background, done so far, next steps. */
export function RiskUpdateView({ update: u, testId, header }: { update: RiskUpdate; testId: string; header?: React.ReactNode }) {
  return (
    <div className="risk-update" data-testid={testId}>
      <small className="muted">
        Weekly update {formatDate(u.created_at)}
        {u.author_name ? ` by ${u.author_name}` : ""}
        {header}
      </small>
      {u.background && (
        <p>
          <strong>Background:</strong> {u.background}
        </p>
      )}
      {u.done_so_far && (
        <p>
          <strong>Done so far:</strong> {u.done_so_far}
        </p>
      )}
      {u.next_steps && (
        <p>
          <strong>Next steps:</strong> {u.next_steps}
        </p>
      )}
    </div>
  );
}

const SCOPES: Array<[CtaScope, string]> = [
  ["mine", "Mine"],
  ["team", "My team"],
  ["all", "Everyone"],
];

/** Mine / My team / Everyone. */
export function ScopeToggle({ value, onChange, testIdPrefix, style }: { value: CtaScope; onChange: (s: CtaScope) => void; testIdPrefix: string; style?: React.CSSProperties }) {
  return (
    <div className="segmented" role="group" aria-label="Whose" style={style}>
      {SCOPES.map(([s, label]) => (
        <button key={s} className={value === s ? "active" : ""} onClick={() => onChange(s)} data-testid={`${testIdPrefix}-${s}`}>
          {label}
        </button>
      ))}
    </div>
  );
}

/** High / Medium / Low as `<option>`s. */
export function PriorityOptions() {
  return (
    <>
      <option value="high">High</option>
      <option value="medium">Medium</option>
      <option value="low">Low</option>
    </>
  );
}
