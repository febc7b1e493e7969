import { useEffect } from "react";
import type { AppInfo } from "../backend";

/** Every keyboard shortcut, listed where `?` shows them. */
export const SHORTCUTS: Array<{ where: string; keys: Array<[string, string]> }> = [
  {
    where: "Anywhere",
    keys: [
      ["?", "this list of shortcuts"],
      ["Esc", "close a dialog or cancel"],
    ],
  },
  {
    where: "Cockpit",
    keys: [
      ["j / ↓", "next CTA"],
      ["k / ↑", "previous CTA"],
      ["f", "flag or unflag"],
      ["u", "weekly risk update"],
      ["l", "log an activity"],
      ["e", "edit"],
      ["s", "snooze"],
      ["c", "close with an outcome"],
      ["n", "new CTA"],
      ["o", "open the account"],
      ["/", "search"],
    ],
  },
];

function useEscape(onClose: () => void) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
}

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  useEscape(onClose);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal narrow" role="dialog" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()} data-testid="help-overlay">
        <h2>Keyboard shortcuts</h2>
        {SHORTCUTS.map((group) => (
          <section key={group.where}>
            <h3 className="muted small">{group.where}</h3>
            <table className="measures compact shortcuts">
              <tbody>
                {group.keys.map(([key, what]) => (
                  <tr key={key}>
                    <td>
                      <kbd>{key}</kbd>
                    </td>
                    <td>{what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
        <button className="button secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

export function AboutBox({ info, onShowLogs, onClose }: { info: AppInfo | null; onShowLogs: () => void; onClose: () => void }) {
  useEscape(onClose);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal narrow" role="dialog" aria-label="About Riskdesk" onClick={(e) => e.stopPropagation()} data-testid="about-box">
        <h2>
          <span className="brand-mark">▲</span> Riskdesk {info && <span data-testid="about-version">{info.version}</span>}
        </h2>
        <p className="muted">Account health, risk and escalation for Customer Success teams. Local-first: your store lives on this computer.</p>
        {info && (
          <dl className="fields">
            <dt>Store</dt>
            <dd>
              <code>{info.database_path}</code>
            </dd>
            <dt>Logs</dt>
            <dd>
              <code data-testid="about-log-dir">{info.log_dir}</code>
            </dd>
          </dl>
        )}
        <div className="toolbar">
          <button className="button secondary" onClick={onShowLogs} data-testid="show-logs">
            Show logs
          </button>
          <button className="button secondary" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
