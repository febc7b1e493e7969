import { useEffect, useState } from "react";
import type { TimelineItem } from "../backend";
import { useApp } from "../context";
import { formatDateTime } from "../format";
import { ActivityForm } from "./CtaView";

/** The account's timeline: calls, meetings, emails and notes logged by people, and what
 * the system did (CTAs opened and closed, health band changes), newest first. */
export function TimelineCard({ accountId, refreshKey }: { accountId: string; refreshKey: number }) {
  const { backend, reportError } = useApp();
  const [items, setItems] = useState<TimelineItem[] | null>(null);
  const [version, setVersion] = useState(0);
  const [showSystem, setShowSystem] = useState(true);

  useEffect(() => {
    let live = true;
    backend
      .accountTimeline(accountId)
      .then((list) => live && setItems(list))
      .catch(reportError);
    return () => {
      live = false;
    };
  }, [backend, accountId, reportError, refreshKey, version]);

  const shown = (items ?? []).filter((e) => showSystem || e.kind !== "system");
  return (
    <section className="card span-2" data-testid="timeline-card">
      <div className="card-head">
        <h2>Timeline</h2>
        <label className="toggle small">
          <input type="checkbox" checked={showSystem} onChange={(e) => setShowSystem(e.target.checked)} /> System events
        </label>
      </div>
      <ActivityForm
        onSave={async (kind, on, body) => {
          try {
            await backend.logActivity(accountId, kind, on, body, null);
            setVersion((v) => v + 1);
          } catch (e) {
            reportError(e);
          }
        }}
      />
      {items === null ? (
        <p className="muted">Loading…</p>
      ) : shown.length === 0 ? (
        <p className="muted">Nothing logged yet.</p>
      ) : (
        <ul className="timeline" data-testid="timeline">
          {shown.map((e) => (
            <li key={e.id} className={`kind-${e.kind}`}>
              <span className={`kind kind-${e.kind}`}>{e.kind.replace("_", " ")}</span>
              <span className="muted small">
                {formatDateTime(e.occurred_at)}
                {e.author_name ? ` · ${e.author_name}` : ""}
              </span>
              <span data-testid="timeline-body">
                {e.body}
                {e.cta_reason && e.kind !== "system" && <small className="muted"> · on CTA “{e.cta_reason}”</small>}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
