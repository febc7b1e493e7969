// "Export CSV / Excel" for a list: the native save dialog, then the list as filtered.
import { useState } from "react";
import type { ExportFormat, ExportView } from "../backend";
import { useApp } from "../context";

/** `push` right-aligns it at the end of its toolbar. */
export function ExportButtons({ view, name, push = false }: { view: ExportView; name: string; push?: boolean }) {
  const { backend, reportError } = useApp();
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (format: ExportFormat) => {
    setSaved(null);
    const day = new Date().toISOString().slice(0, 10);
    const path = await backend.pickSavePath(`${name}-${day}.${format}`, format);
    if (!path) return;
    setBusy(true);
    try {
      const r = await backend.exportList(view, format, path);
      setSaved(`Saved ${r.rows.toLocaleString("en-US")} rows to ${r.path}`);
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className={push ? "export-menu push" : "export-menu"}>
      <span className="muted small">Export</span>
      <button className="button secondary small" disabled={busy} onClick={() => void save("csv")} data-testid={`export-${name}-csv`}>
        CSV
      </button>
      <button className="button secondary small" disabled={busy} onClick={() => void save("xlsx")} data-testid={`export-${name}-xlsx`}>
        Excel
      </button>
      {saved && (
        <span className="ok small" role="status" data-testid="export-saved" title={saved}>
          ✓ {saved.length > 60 ? `${saved.slice(0, 57)}…` : saved}
        </span>
      )}
    </span>
  );
}
