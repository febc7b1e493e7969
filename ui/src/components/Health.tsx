// Small health widgets shared by the Accounts table and the account page.

/** A score with its band's colour; "not enough data" for a scored account whose data
 * covers too little of its scorecard, "no score" before it was ever scored. */
export function HealthBadge({ score, band, color, unscored = false }: { score: number | null; band: string | null; color: string | null; unscored?: boolean }) {
  if (score === null)
    return unscored ? (
      <span className="muted" title="Not enough data for a score: too few of the scorecard's measures have data">
        no data
      </span>
    ) : (
      <span className="muted">no score</span>
    );
  return (
    <span className="health-badge" title={band ? `${band} health` : undefined}>
      <span className="dot" style={{ background: color ?? "#9ca3af" }} aria-hidden />
      {Math.round(score)}
    </span>
  );
}

/** ▲ / ▼ with the change in points; flat within half a point. */
export function TrendMark({ delta, label = "30 days" }: { delta: number | null; label?: string }) {
  if (delta === null) return null;
  const rounded = Math.round(delta);
  if (rounded === 0) return <span className="trend flat" title={`No change over ${label}`}>=</span>;
  return (
    <span className={`trend ${rounded > 0 ? "up" : "down"}`} title={`${rounded > 0 ? "+" : ""}${rounded} points over ${label}`}>
      {rounded > 0 ? "▲" : "▼"} {Math.abs(rounded)}
    </span>
  );
}
