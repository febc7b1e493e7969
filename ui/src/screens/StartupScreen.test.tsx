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
    expect(screen.getByTestId("start-join-hint").textContent).toContain("then connect in Settings › Sync");
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

  it("an empty start opens the app as started by me even when a poll sees the store ready first", async () => {
    // The store becomes ready while the start's own answer is still on its way: the poll
    // must not open the app as if nobody had started it (the welcome would vanish).
    const me = user({ name: "Ana Ruiz", role: "admin" });
    let started = false;
    let answer: (u: typeof me) => void = () => {};
    const startEmpty = vi.fn(
      () =>
        new Promise<typeof me>((resolve) => {
          started = true;
          answer = resolve;
        }),
    );
    const startupStatus = vi.fn(async () => (started ? { kind: "ready" as const } : { kind: "choose" as const }));
    const onReady = vi.fn();
    render(<StartupScreen backend={fakeBackend({ startupStatus, startEmpty })} onReady={onReady} />);
    await screen.findByTestId("first-start");
    fireEvent.change(screen.getByTestId("start-name"), { target: { value: "Ana Ruiz" } });
    fireEvent.change(screen.getByTestId("start-email"), { target: { value: "ana@acme.example" } });
    fireEvent.click(screen.getByTestId("start-empty"));
    const polls = startupStatus.mock.calls.length;
    await waitFor(() => expect(startupStatus.mock.calls.length).toBeGreaterThan(polls + 1), { timeout: 3000 });
    expect(onReady).not.toHaveBeenCalled();
    expect(screen.getByTestId("first-start")).toBeTruthy();
    answer(me);
    await waitFor(() => expect(onReady).toHaveBeenCalledWith(me));
    expect(onReady).toHaveBeenCalledTimes(1);
  });
});
