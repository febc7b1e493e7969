import { useEffect, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { AccountDetail, Contact, Ticket } from "../backend";
import { useApp } from "../context";
import { HealthPanel } from "./HealthPanel";
import { CtasCard } from "./CtasCard";
import { TimelineCard } from "./TimelineCard";
import { daysUntil, formatDate, formatMoney, npsCategory, relativeDays, segmentLabel, stageLabel, todayIso } from "../format";

export function AccountPage({ accountId, onBack }: { accountId: string; onBack: () => void }) {
  const { backend, currencies, reportError } = useApp();
  const [detail, setDetail] = useState<AccountDetail | null>(null);
  const [failed, setFailed] = useState(false);
  const [version, setVersion] = useState(0);
  // Work on a CTA shows on the timeline without reloading the whole page.
  const [workVersion, setWorkVersion] = useState(0);

  useEffect(() => {
    let live = true;
    setFailed(false);
    backend
      .accountDetail(accountId)
      .then((d) => live && setDetail(d))
      .catch((e) => {
        if (!live) return;
        setFailed(true);
        reportError(e);
      });
    return () => {
      live = false;
    };
  }, [backend, accountId, reportError, version]);

  if (!detail) {
    return (
      <div className="screen">
        <button className="link back" onClick={onBack}>
          ← Accounts
        </button>
        <p className="muted">{failed ? "This account could not be loaded." : "Loading account…"}</p>
      </div>
    );
  }

  const a = detail.account;
  const digits = currencies.get(a.currency)?.minor_digits ?? 2;
  const days = daysUntil(a.renewal_date);
  const openTickets = detail.tickets.filter((t) => !t.resolved_at);

  return (
    <div className="screen account-page" data-testid="account-page">
      <button className="link back" onClick={onBack} data-testid="back-to-accounts">
        ← Accounts
      </button>
      <header className="account-head">
        <div>
          <h1 data-testid="account-title">
            {a.strategic && (
              <span className="star" title="Strategic account">
                ★
              </span>
            )}
            {a.name}
          </h1>
          <div className="badges">
            <span className={`pill seg-${a.segment}`}>{segmentLabel[a.segment]}</span>
            <span className="pill" data-testid="account-stage" title={stageTitle(detail)}>
              {stageLabel[a.stage]}
              {detail.stage_since && <span className="pill-note"> since {formatDate(detail.stage_since)}</span>}
            </span>
            <span className="muted">
              {a.industry} · {a.region}
            </span>
          </div>
        </div>
        <dl className="head-stats">
          <div>
            <dt>ARR</dt>
            <dd data-testid="account-arr">{formatMoney(a.arr_minor, a.currency, digits)}</dd>
          </div>
          <div>
            <dt>Renewal</dt>
            <dd>
              {formatDate(a.renewal_date)} <small className={days <= 90 ? "soon" : "muted"}>{relativeDays(days)}</small>
            </dd>
          </div>
          <div>
            <dt>Owner</dt>
            <dd>{detail.owner?.name ?? "Unassigned"}</dd>
          </div>
        </dl>
      </header>

      <div className="grid">
        <HealthPanel accountId={a.id} refreshKey={version} />

        <CtasCard accountId={a.id} refreshKey={version} onChanged={() => setWorkVersion((v) => v + 1)} />

        <section className="card span-2" data-testid="usage-card">
          <h2>Usage, last 26 weeks</h2>
          <UsageChart detail={detail} />
        </section>

        <section className="card">
          <h2>Details</h2>
          <dl className="fields">
            <Field label="CRM id" value={a.crm_id ?? "—"} />
            <Field label="Original contract" value={formatDate(a.contract_start)} />
            <Field label="Renewal date" value={formatDate(a.renewal_date)} />
            <Field label="Currency" value={a.currency} />
            <Field label="Expansion potential" value={a.expansion_potential} />
            <Field label="Strategic" value={a.strategic ? "Yes" : "No"} />
            <Field label="Owner" value={detail.owner ? `${detail.owner.name} (${detail.owner.email})` : "Unassigned"} />
          </dl>
        </section>

        <section className="card">
          <h2>Contacts ({detail.contacts.length})</h2>
          <ul className="list" data-testid="contacts">
            {detail.contacts.map((c) => (
              <ContactItem key={c.id} contact={c} />
            ))}
          </ul>
        </section>

        <section className="card">
          <h2>
            Support tickets <small className="muted">{openTickets.length} open</small>
          </h2>
          {detail.tickets.length === 0 ? <p className="muted">No tickets in the last 26 weeks.</p> : <TicketList tickets={detail.tickets} />}
        </section>

        <section className="card">
          <h2>NPS</h2>
          <NpsForm accountId={a.id} contacts={detail.contacts} onLogged={() => setVersion((v) => v + 1)} />
          {detail.nps.length === 0 ? (
            <p className="muted">No survey responses yet.</p>
          ) : (
            <ul className="list" data-testid="nps">
              {detail.nps.map((r) => (
                <li key={r.id}>
                  <span className={`score ${npsCategory(r.score)}`}>{r.score}</span>
                  <span>
                    <span className="muted">
                      {formatDate(r.responded_on)} · {npsCategory(r.score)}
                    </span>
                    {r.comment && <q>{r.comment}</q>}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <TimelineCard accountId={a.id} refreshKey={version + workVersion} />
      </div>
    </div>
  );
}

/** Logs a survey response; the account is re-scored before the form reports back. */
function NpsForm({ accountId, contacts, onLogged }: { accountId: string; contacts: Contact[]; onLogged: () => void }) {
  const { backend, reportError } = useApp();
  const [open, setOpen] = useState(false);
  const [score, setScore] = useState("");
  const [comment, setComment] = useState("");
  const [contact, setContact] = useState("");
  const [day, setDay] = useState(todayIso);
  const [busy, setBusy] = useState(false);
  if (!open)
    return (
      <button className="link" onClick={() => setOpen(true)} data-testid="log-nps">
        + Log a response
      </button>
    );
  const submit = async () => {
    setBusy(true);
    try {
      await backend.logNpsResponse(accountId, contact || null, Number(score), comment, day);
      setOpen(false);
      setScore("");
      setComment("");
      onLogged();
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      data-testid="nps-form"
    >
      <select value={score} onChange={(e) => setScore(e.target.value)} aria-label="Score" data-testid="nps-score" required>
        <option value="">Score…</option>
        {Array.from({ length: 11 }, (_, i) => (
          <option key={i} value={i}>
            {i}
          </option>
        ))}
      </select>
      <select value={contact} onChange={(e) => setContact(e.target.value)} aria-label="Who answered">
        <option value="">Who answered (optional)</option>
        {contacts.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
      <input type="date" value={day} onChange={(e) => setDay(e.target.value)} aria-label="Date" />
      <input className="grow" placeholder="Comment" value={comment} onChange={(e) => setComment(e.target.value)} data-testid="nps-comment" />
      <button className="button" disabled={busy || score === ""} data-testid="nps-save">
        Log
      </button>
      <button type="button" className="link" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

function ContactItem({ contact: c }: { contact: Contact }) {
  const key = c.role === "sponsor" || c.role === "champion";
  return (
    <li className={c.status === "left" ? "left" : ""}>
      <span>
        <strong>{c.name}</strong> <span className="muted">{c.title}</span>
        <br />
        <small className="muted">{c.email}</small>
      </span>
      <span className="contact-tags">
        <span className={`pill ${key ? "pill-key" : ""}`}>{c.role}</span>
        {c.status === "left" && <span className="pill pill-bad">left {c.left_on ? formatDate(c.left_on) : ""}</span>}
      </span>
    </li>
  );
}

function TicketList({ tickets }: { tickets: Ticket[] }) {
  return (
    <ul className="list" data-testid="tickets">
      {tickets.slice(0, 12).map((t) => (
        <li key={t.id}>
          <span>
            <strong>{t.subject}</strong>
            <br />
            <small className="muted">
              {t.external_id} · {t.category} · opened {formatDate(t.opened_at)}
              {t.resolved_at ? ` · resolved ${formatDate(t.resolved_at)}` : ""}
            </small>
          </span>
          <span className="contact-tags">
            <span className={`pill prio-${t.priority}`}>{t.priority}</span>
            <span className={`pill ${t.resolved_at ? "" : "pill-bad"}`}>{t.resolved_at ? "resolved" : "open"}</span>
          </span>
        </li>
      ))}
      {tickets.length > 12 && <li className="muted">and {tickets.length - 12} more</li>}
    </ul>
  );
}

function UsageChart({ detail }: { detail: AccountDetail }) {
  if (detail.usage.length === 0) return <p className="muted">No usage reported yet.</p>;
  const data = detail.usage.map((w) => ({
    week: formatDate(w.week_start).replace(/, \d{4}$/, ""),
    "Active users": w.active_users,
    "Licensed seats": w.licensed_seats,
    "Key-feature adoption %": w.key_feature_adoption,
  }));
  return (
    <div className="chart" data-testid="usage-chart">
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="week" tick={{ fontSize: 11 }} interval={3} />
          <YAxis yAxisId="users" tick={{ fontSize: 11 }} allowDecimals={false} />
          <YAxis yAxisId="pct" orientation="right" domain={[0, 100]} tick={{ fontSize: 11 }} unit="%" />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line yAxisId="users" type="linear" dataKey="Active users" stroke="#2563eb" strokeWidth={2} dot={false} isAnimationActive={false} />
          <Line yAxisId="users" type="stepAfter" dataKey="Licensed seats" stroke="#9ca3af" strokeDasharray="4 4" dot={false} isAnimationActive={false} />
          <Line yAxisId="pct" type="monotone" dataKey="Key-feature adoption %" stroke="#f59e0b" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** What the stage pill's tooltip says: when the stage was reached and whether the account adopted. */
export function stageTitle(d: AccountDetail): string {
  const parts = [d.stage_since ? `${stageLabel[d.account.stage]} since ${formatDate(d.stage_since)}` : `${stageLabel[d.account.stage]} (the day it was reached is not known)`];
  if (d.adopted_on) parts.push(`adopted on ${formatDate(d.adopted_on)}`);
  else if (d.account.stage === "onboarding") parts.push("not adopted yet");
  return parts.join("; ");
}
