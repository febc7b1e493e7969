import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { fakeBackend, WithApp } from "../testing";
import { SettingsScreen } from "./SettingsScreen";

describe("Settings › Recompute", () => {
  it("shows how long score history is kept and saves a change, showing the store's refusal as it words it", async () => {
    const saveHistoryRetention = vi
      .fn()
      .mockRejectedValueOnce(new Error("invalid history retention: daily history: 30 days is too short, at least 90 (the 90-day trend reads it)"))
      .mockImplementation(async (r) => r);
    const backend = fakeBackend({ saveHistoryRetention });
    render(
      <WithApp backend={backend}>
        <SettingsScreen onUserChange={() => {}} initialTab="recompute" />
      </WithApp>,
    );
    const daily = (await screen.findByTestId("retention-daily_days")) as HTMLInputElement;
    expect(daily.value).toBe("90");
    expect((screen.getByTestId("retention-weekly_days") as HTMLInputElement).value).toBe("730");

    fireEvent.change(daily, { target: { value: "30" } });
    fireEvent.click(screen.getByTestId("retention-save"));
    await waitFor(() => expect(screen.getByTestId("retention-message").textContent).toContain("at least 90"));

    fireEvent.change(daily, { target: { value: "120" } });
    fireEvent.click(screen.getByTestId("retention-save"));
    await waitFor(() => expect(saveHistoryRetention).toHaveBeenLastCalledWith({ daily_days: 120, weekly_days: 730 }));
  });

  it("says which accounts a same-day recompute left alone and why", async () => {
    const recomputeAll = vi.fn(async () => ({
      accounts: 1,
      scored: 1,
      signals_raised: 0,
      signals_cleared: 1,
      stages_moved: 0,
      duration_ms: 40,
      unchanged: 2499,
    }));
    render(
      <WithApp backend={fakeBackend({ recomputeAll })}>
        <SettingsScreen onUserChange={() => {}} initialTab="recompute" />
      </WithApp>,
    );
    fireEvent.click(await screen.findByTestId("recompute-all"));
    const result = await screen.findByTestId("recompute-result");
    expect(result.textContent).toContain("2,499 accounts are unchanged since today's refresh");
    expect(result.textContent).toContain("Scored 1 of 1 accounts whose data or work changed");
  });

  it("switches a kind of notification off and saves it", async () => {
    const saveNotifySettings = vi.fn(async (s) => s);
    render(
      <WithApp backend={fakeBackend({ saveNotifySettings })}>
        <SettingsScreen onUserChange={() => {}} initialTab="you" />
      </WithApp>,
    );
    const due = (await screen.findByTestId("notify-due_today")) as HTMLInputElement;
    await waitFor(() => expect(due.disabled).toBe(false));
    expect(due.checked).toBe(true);
    fireEvent.click(due);
    await waitFor(() => expect(saveNotifySettings).toHaveBeenCalledWith({ escalations: true, assigned: true, due_today: false }));
    expect(((await screen.findByTestId("notify-due_today")) as HTMLInputElement).checked).toBe(false);
  });
  it("holds the notifications card's place while its settings load, so nothing under it moves", async () => {
    let arrive: (s: { escalations: boolean; assigned: boolean; due_today: boolean }) => void = () => {};
    const notifySettings = vi.fn(() => new Promise<{ escalations: boolean; assigned: boolean; due_today: boolean }>((resolve) => (arrive = resolve)));
    render(
      <WithApp backend={fakeBackend({ notifySettings })}>
        <SettingsScreen onUserChange={() => {}} initialTab="you" />
      </WithApp>,
    );
    const card = await screen.findByTestId("notifications-card");
    const boxes = () => card.querySelectorAll("input[type=checkbox]");
    expect(boxes().length).toBe(3);
    expect([...boxes()].every((b) => (b as HTMLInputElement).disabled)).toBe(true);
    // The card comes before the updates card either way.
    expect(card.compareDocumentPosition(screen.getByTestId("update-check")) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    arrive({ escalations: true, assigned: false, due_today: true });
    await waitFor(() => expect((screen.getByTestId("notify-assigned") as HTMLInputElement).disabled).toBe(false));
    expect((screen.getByTestId("notify-assigned") as HTMLInputElement).checked).toBe(false);
    expect((screen.getByTestId("notify-escalations") as HTMLInputElement).checked).toBe(true);
  });
});

describe("Settings › You › About this store", () => {
  it("offers to compact only when there is free space, and says what compacting gave back", async () => {
    const storeSize = vi.fn(async () => ({ bytes: 2_700_000_000, free_bytes: 1_330_000_000 }));
    const compactStore = vi.fn(async () => ({
      before: { bytes: 2_700_000_000, free_bytes: 1_330_000_000 },
      after: { bytes: 1_370_000_000, free_bytes: 0 },
      millis: 9_600,
    }));
    render(
      <WithApp backend={fakeBackend({ storeSize, compactStore })}>
        <SettingsScreen onUserChange={() => {}} initialTab="you" />
      </WithApp>,
    );
    expect((await screen.findByTestId("store-space")).textContent).toContain("1.33 GB of it is free space");
    expect(screen.getByTestId("store-size").textContent).toBe("2.70 GB");
    fireEvent.click(screen.getByTestId("store-compact"));
    const result = await screen.findByTestId("store-compacted");
    expect(result.textContent).toBe("Compacted from 2.70 GB to 1.37 GB in 9.6 s.");
    expect(compactStore).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("store-size").textContent).toBe("1.37 GB");
    expect(screen.queryByTestId("store-compact")).toBeNull();
  });

  it("shows the size without a compact button when nothing is free", async () => {
    render(
      <WithApp backend={fakeBackend()}>
        <SettingsScreen onUserChange={() => {}} initialTab="you" />
      </WithApp>,
    );
    expect((await screen.findByTestId("store-size")).textContent).toBe("52 MB");
    expect(screen.queryByTestId("store-compact")).toBeNull();
  });
});
