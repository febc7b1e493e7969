import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { AboutBox, HelpOverlay, SHORTCUTS } from "./HelpOverlay";

describe("help and about", () => {
  it("lists every shortcut and closes on Escape", () => {
    const onClose = vi.fn();
    render(<HelpOverlay onClose={onClose} />);
    const text = screen.getByTestId("help-overlay").textContent ?? "";
    for (const group of SHORTCUTS) for (const [key, what] of group.keys) expect(text).toContain(`${key}${what}`);
    fireEvent.keyDown(window, { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
  });

  it("shows the version, where the store and the logs are, and opens the logs", () => {
    const onShowLogs = vi.fn();
    render(<AboutBox info={{ version: "0.4.2", database_path: "/home/ana/.local/share/riskdesk.db", accounts: 12, log_dir: "/home/ana/.local/share/app.riskdesk.desktop/logs" }} onShowLogs={onShowLogs} onClose={() => {}} />);
    expect(screen.getByTestId("about-version").textContent).toBe("0.4.2");
    expect(screen.getByTestId("about-log-dir").textContent).toBe("/home/ana/.local/share/app.riskdesk.desktop/logs");
    fireEvent.click(screen.getByTestId("show-logs"));
    expect(onShowLogs).toHaveBeenCalled();
  });
});
