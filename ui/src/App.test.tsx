import { describe, expect, it, vi } from "vitest";
import { act, render, screen, waitFor } from "@testing-library/react";
import { App } from "./App";
import { SYNCED } from "./components/Sync";
import { fakeBackend, user } from "./testing";

describe("App", () => {
  it("after a sync, shows the person the server says this device's user is", async () => {
    const local = user({ id: "local-1", name: "Casey (this device)", role: "admin" });
    const server = user({ id: "server-9", name: "Casey Carter", role: "csm" });
    const currentUser = vi.fn().mockResolvedValueOnce(local).mockResolvedValue(server);
    render(<App backend={fakeBackend({ currentUser })} />);
    await waitFor(() => expect(screen.getByTestId("current-user").textContent).toContain("Casey (this device)"));
    act(() => {
      window.dispatchEvent(new Event(SYNCED));
    });
    await waitFor(() => expect(screen.getByTestId("current-user").textContent).toContain("Casey Carter"));
  });
});
