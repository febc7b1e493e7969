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
  set_aside: 0,
  interval_seconds: 60,
  holds_demo: false,
};

describe("Sync", () => {
  it("connects with the server, email and password the user typed", async () => {
    const syncConnect = vi.fn(async () => ({ pushed: 0, pulled: 12, applied: 12, conflicts: 0, pending: 0, set_aside: 0 }));
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

  it("accepts an invite: the code and a new password, then a progress bar while it syncs", async () => {
    let finish: (r: { pushed: number; pulled: number; applied: number; conflicts: number; pending: number; set_aside: number }) => void = () => {};
    const syncAcceptInvite = vi.fn(
      (_url: string, _code: string, _password: string, _share: boolean, onProgress: (p: { phase: "pushing" | "pulling"; done: number; total: number }) => void) =>
        new Promise<{ pushed: number; pulled: number; applied: number; conflicts: number; pending: number; set_aside: number }>((resolve) => {
          onProgress({ phase: "pulling", done: 2500, total: 10000 });
          finish = resolve;
        }),
    );
    const syncConnect = vi.fn();
    const backend = fakeBackend({ syncAcceptInvite, syncConnect });
    render(
      <WithApp backend={backend}>
        <SyncSettings />
      </WithApp>,
    );
    fireEvent.click(await screen.findByTestId("sync-mode-invite"));
    fireEvent.change(screen.getByTestId("sync-url"), { target: { value: "https://sync.acme.example" } });
    fireEvent.change(screen.getByTestId("sync-code"), { target: { value: " 8f3a " } });
    fireEvent.change(screen.getByTestId("sync-password"), { target: { value: "too short" } });
    expect((screen.getByTestId("sync-connect") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("sync-password"), { target: { value: "long enough now" } });
    fireEvent.click(screen.getByTestId("sync-connect"));
    const bar = await screen.findByTestId("sync-progress");
    expect(bar.textContent).toContain("25 %");
    expect(syncAcceptInvite).toHaveBeenCalledWith("https://sync.acme.example", " 8f3a ", "long enough now", false, expect.any(Function));
    expect(syncConnect).not.toHaveBeenCalled();
    finish({ pushed: 0, pulled: 40, applied: 40, conflicts: 0, pending: 0, set_aside: 0 });
    await screen.findByTestId("sync-report");
    expect(screen.queryByTestId("sync-progress")).toBeNull();
  });

  it("says it waits when Sync now is pressed while the background sync runs", async () => {
    let finish: (r: { pushed: number; pulled: number; applied: number; conflicts: number; pending: number; set_aside: number }) => void = () => {};
    const syncNow = vi.fn(
      (onProgress: (p: { phase: "waiting" | "pushing" | "pulling"; done: number; total: number }) => void) =>
        new Promise<{ pushed: number; pulled: number; applied: number; conflicts: number; pending: number; set_aside: number }>((resolve) => {
          onProgress({ phase: "waiting", done: 0, total: 0 });
          finish = resolve;
        }),
    );
    const backend = fakeBackend({ syncStatus: vi.fn(async () => connected), syncNow });
    render(
      <WithApp backend={backend}>
        <SyncSettings />
      </WithApp>,
    );
    fireEvent.click(await screen.findByTestId("sync-now"));
    const bar = await screen.findByTestId("sync-progress");
    expect(bar.textContent).toBe("Waiting for the sync under way to finish");
    finish({ pushed: 1, pulled: 0, applied: 0, conflicts: 0, pending: 0, set_aside: 0 });
    await screen.findByTestId("sync-report");
    expect(screen.queryByTestId("sync-progress")).toBeNull();
  });

  it("shows an edit as pending soon after the click that saved it, not at the next poll", async () => {
    let pending = 0;
    const syncStatus = vi.fn(async () => ({ ...connected, unseen_conflicts: 0, pending }));
    render(
      <WithApp backend={fakeBackend({ syncStatus })}>
        <SyncStatusLine onOpen={() => {}} />
        <button data-testid="save">Save</button>
      </WithApp>,
    );
    await waitFor(() => expect(screen.getByTestId("sync-status").textContent).toBe("Synced just now"));
    const asked = syncStatus.mock.calls.length;
    // The save lands; a burst of clicks asks once, after the last.
    pending = 1;
    fireEvent.click(screen.getByTestId("save"));
    fireEvent.click(screen.getByTestId("save"));
    fireEvent.keyUp(screen.getByTestId("save"), { key: "a" });
    await waitFor(() => expect(screen.getByTestId("sync-status").textContent).toBe("Synced just now · 1 pending"), { timeout: 3_000 });
    expect(syncStatus.mock.calls.length).toBe(asked + 1);
  });

  it("warns before connecting a store that holds the demo book", async () => {
    const notConnected = { ...connected, connected: false, server_url: null, email: null, last_synced_at: null };
    const { unmount } = render(
      <WithApp backend={fakeBackend({ syncStatus: vi.fn(async () => ({ ...notConnected, holds_demo: true })) })}>
        <SyncSettings />
      </WithApp>,
    );
    expect((await screen.findByTestId("sync-demo-warning")).textContent).toContain("This store holds the demo book");
    unmount();
    render(
      <WithApp backend={fakeBackend({ syncStatus: vi.fn(async () => notConnected) })}>
        <SyncSettings />
      </WithApp>,
    );
    await screen.findByTestId("sync-connect");
    expect(screen.queryByTestId("sync-demo-warning")).toBeNull();
  });

  it("changes how often it syncs in the background", async () => {
    const syncSetInterval = vi.fn(async (seconds: number) => ({ ...connected, interval_seconds: seconds }));
    const backend = fakeBackend({ syncStatus: vi.fn(async () => connected), syncSetInterval });
    render(
      <WithApp backend={backend}>
        <SyncSettings />
      </WithApp>,
    );
    const select = (await screen.findByTestId("sync-interval")) as HTMLSelectElement;
    expect(select.value).toBe("60");
    fireEvent.change(select, { target: { value: "300" } });
    await waitFor(() => expect(syncSetInterval).toHaveBeenCalledWith(300));
  });

  it("lists what is set aside, and why, and says so in the status line", async () => {
    const backend = fakeBackend({
      syncStatus: vi.fn(async () => ({ ...connected, unseen_conflicts: 0, set_aside: 2 })),
      syncSetAside: vi.fn(async () => [
        { direction: "in", entity: "person", entity_id: "u-7", reason: "cannot be deleted here: FOREIGN KEY constraint failed", label: null },
        { direction: "out", entity: "team", entity_id: "t-9", reason: "name: only admins and managers change the organisation's teams", label: null },
        {
          direction: "out",
          entity: "person",
          entity_id: "u-8",
          reason: "email: change d-4 gives person u-8 the email ana@acme.example, which person p-ana (Ana Ames, ana@acme.example) already has",
          label: "Ana Ames <ana@acme.example>",
        },
      ]),
    });
    render(
      <WithApp backend={backend}>
        <SyncStatusLine onOpen={() => {}} />
        <SyncSettings />
      </WithApp>,
    );
    await waitFor(() => expect(screen.getByTestId("sync-status").textContent).toContain("2 set aside"));
    const table = await screen.findByTestId("sync-set-aside");
    expect(table.textContent).toContain("Received, not applied");
    expect(table.textContent).toContain("FOREIGN KEY constraint failed");
    expect(table.textContent).toContain("Refused by the server");
    // A record this device holds is named as people know it, its id beneath.
    expect(table.textContent).toContain("person · Ana Ames <ana@acme.example>");
    expect(table.textContent).toContain("u-8");
  });
});
