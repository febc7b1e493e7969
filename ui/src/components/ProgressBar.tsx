// A labelled progress bar for long jobs (imports, a first sync of a large book).

export function ProgressBar({ label, done, total, testId }: { label: string; done: number; total: number; testId: string }) {
  const pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return (
    <div className="import-progress" data-testid={testId}>
      <span className="muted small">
        {/* Without a total (waiting for another run) a share would say nothing. */}
        {total > 0 ? `${label} · ${pct} %` : label}
      </span>
      <div className="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
