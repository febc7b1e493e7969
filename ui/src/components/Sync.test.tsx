import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { SyncStatus } from "../backend";
import { fakeBackend, WithApp } from "../testing";
import { SyncSettings, SyncStatusLine } from "./Sync";

const connected: SyncStatus = {
  connected: true,
  server_url: "https://sync.acme.example",
  email: "ana@acme.example",
  device_id: "dev-1",
  last_synced_at: new Date().toISOString(),
  last_error: null,
  pending: 3,
  unseen_conflicts: 1,
};

describe("Sync", () => {
  it("connects with the server, email and password the user typed", async () => {
    const syncConnect = vi.fn(async () => ({ pushed: 0, pulled: 12, applied: 12, conflicts: 0, pending: 0 }));
    const backend = fakeBackend({ syncConnect });
    render(
      <WithApp backend={backend}>
        <SyncSettings />
      </WithApp>,
    );
    fireEvent.change(await screen.findByTestId("sync-url"), { target: { value: "https://sync.acme.example" } });
    fireEvent.change(screen.getByTestId("sync-email"), { target: { value: "ana@acme.example" } });
    fireEvent.change(screen.getByTestId("sync-password"), { target: { value: "correct horse battery" } });
    fireEvent.click(screen.getByTestId("sync-connect"));
    await screen.findByTestId("sync-report");
    expect(syncConnect).toHaveBeenCalledWith("https://sync.acme.example", "ana@acme.example", "correct horse battery", false, expect.any(Function));
    expect(screen.getByTestId("sync-report").textContent).toContain("received 12 new");
  });

  it("says offline with what is pending, and lists lost edits", async () => {
    const backend = fakeBackend({
      syncStatus: vi.fn(async () => ({ ...connected, last_error: "cannot reach https://sync.acme.example" })),
      syncConflicts: vi.fn(async () => [
        { id: 1, entity: "cta", entity_id: "c1", field: "status", lost_value: '"snoozed"', winner_value: '"closed"', reported_at: new Date().toISOString() },
      ]),
    });
    render(
      <WithApp backend={backend}>
        <SyncStatusLine onOpen={() => {}} />
        <SyncSettings />
      </WithApp>,
    );
    await waitFor(() => expect(screen.getByTestId("sync-status").textContent).toContain("Offline · 3 pending"));
    expect(screen.getByTestId("sync-status").textContent).toContain("1 lost edits");
    const table = await screen.findByTestId("sync-conflicts");
    expect(table.textContent).toContain('"closed"');
  });
});
