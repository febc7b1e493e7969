import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Startup } from "../backend";
import { fakeBackend, user } from "../testing";
import { StartupScreen } from "./StartupScreen";

describe("First start", () => {
  it("shows the demo book's progress until the store is ready", async () => {
    const states: Startup[] = [
      { kind: "preparing", progress: null },
      { kind: "preparing", progress: { phase: "Making 2500 demo accounts", done: 1250, total: 2500, step: 1, phases: 3 } },
      { kind: "ready" },
    ];
    let i = 0;
    const backend = fakeBackend({ startupStatus: vi.fn(async () => states[Math.min(i++, states.length - 1)]) });
    const onReady = vi.fn();
    render(<StartupScreen backend={backend} onReady={onReady} />);
    await waitFor(() => expect(screen.getByTestId("startup-progress").textContent).toContain("Step 1 of 3: Making 2500 demo accounts"));
    expect(screen.getByTestId("startup-bar").textContent).toContain("1,250 of 2,500 · 50 %");
    await waitFor(() => expect(onReady).toHaveBeenCalledWith(null));
  });

  it("offers the demo or an empty start, and an empty start makes me its admin", async () => {
    const me = user({ name: "Ana Ruiz", role: "admin" });
    const startEmpty = vi
      .fn()
      .mockRejectedValueOnce(new Error("person.email: 'ana' is not an email address"))
      .mockResolvedValueOnce(me);
    const backend = fakeBackend({ startupStatus: vi.fn(async () => ({ kind: "choose" as const })), startEmpty });
    const onReady = vi.fn();
    render(<StartupScreen backend={backend} onReady={onReady} />);
    await screen.findByTestId("first-start");
    expect((screen.getByTestId("start-empty") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("start-name"), { target: { value: "Ana Ruiz" } });
    fireEvent.change(screen.getByTestId("start-email"), { target: { value: "ana" } });
    fireEvent.click(screen.getByTestId("start-empty"));
    await waitFor(() => expect(screen.getByTestId("start-error").textContent).toContain("not an email address"));
    expect(onReady).not.toHaveBeenCalled();
    fireEvent.change(screen.getByTestId("start-email"), { target: { value: "ana@acme.example" } });
    fireEvent.click(screen.getByTestId("start-empty"));
    await waitFor(() => expect(onReady).toHaveBeenCalledWith(me));
    expect(startEmpty).toHaveBeenLastCalledWith("Ana Ruiz", "ana@acme.example");
  });
});
