import { useEffect, useState } from "react";
import type { CtaDetail } from "../backend";
import { useApp } from "../context";
import { CtaView } from "./CtaView";
import { NewCtaForm } from "./NewCtaForm";

/** The account's work: live CTAs with where they came from, their tasks and updates. */
export function CtasCard({ accountId, refreshKey, onChanged }: { accountId: string; refreshKey: number; onChanged?: () => void }) {
  const { backend, reportError } = useApp();
  const [ctas, setCtas] = useState<CtaDetail[] | null>(null);
  const [version, setVersion] = useState(0);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let live = true;
    backend
      .accountCtas(accountId)
      .then((list) => live && setCtas(list))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, accountId, reportError, refreshKey, version]);

  if (!ctas) return <section className="card span-2 muted">Loading CTAs…</section>;
  const open = ctas.filter((c) => c.cta.status !== "closed");
  const closed = ctas.filter((c) => c.cta.status === "closed");
  const changed = () => {
    setVersion((v) => v + 1);
    onChanged?.();
  };

  return (
    <section className="card span-2" data-testid="ctas-card">
      <div className="card-head">
        <h2>
          Calls to action <small className="muted">{open.length} open</small>
        </h2>
        {!creating && (
          <button className="button secondary" onClick={() => setCreating(true)} data-testid="account-new-cta">
            New CTA…
          </button>
        )}
      </div>
      {creating && (
        <NewCtaForm
          accountId={accountId}
          onCancel={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            changed();
          }}
        />
      )}
      {open.length === 0 && <p className="muted">Nothing to do on this account right now.</p>}
      <ul className="ctas">
        {open.map((d) => (
          <li key={d.cta.id}>
            <CtaView detail={d} onChanged={changed} />
          </li>
        ))}
      </ul>
      {closed.length > 0 && (
        <p className="muted small">
          Closed: {closed.map((d) => `${d.cta.reason} (${d.cta.outcome?.replace(/_/g, " ")})`).join(" · ")}
        </p>
      )}
    </section>
  );
}
