import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { groupUsers, UserPicker } from "./UserPicker";
import { fakeBackend, user, WithApp } from "../testing";
import { App } from "../App";
import { BackendError } from "../backend";

const people = [
  user({ name: "Zoe Kim", role: "csm", title: "Scale CSM" }),
  user({ name: "Amara Silva", role: "executive", title: "VP Product" }),
  user({ name: "Dmitri Patel", role: "csm" }),
  user({ name: "Uma Ramos", role: "manager", title: "Manager, Enterprise" }),
];

describe("groupUsers", () => {
  it("lists CSMs, then managers, then leadership, each by name", () => {
    const groups = groupUsers(people).map(([label, list]) => [label, list.map((u) => u.name)]);
    expect(groups).toEqual([
      ["Customer Success Managers", ["Dmitri Patel", "Zoe Kim"]],
      ["Managers", ["Uma Ramos"]],
      ["Leadership and CS Ops", ["Amara Silva"]],
    ]);
  });
});

describe("UserPicker", () => {
  it("saves the chosen person and hands them back", async () => {
    const chosen = vi.fn();
    const backend = fakeBackend({ listUsers: vi.fn(async () => people), setCurrentUser: vi.fn(async (id: string) => people.find((p) => p.id === id)!) });
    render(
      <WithApp backend={backend}>
        <UserPicker onChosen={chosen} />
      </WithApp>,
    );
    fireEvent.click(await screen.findByText("Uma Ramos"));
    await waitFor(() => expect(chosen).toHaveBeenCalledWith(people[3]));
    expect(backend.setCurrentUser).toHaveBeenCalledWith(people[3].id);
  });
});

describe("App", () => {
  it("asks who the user is on first start and shows them once chosen", async () => {
    const backend = fakeBackend({ listUsers: vi.fn(async () => people), setCurrentUser: vi.fn(async () => people[2]) });
    render(<App backend={backend} />);
    // The worklist behind the picker lists owners too: pick from the picker.
    const picker = await screen.findByTestId("user-picker");
    fireEvent.click(await within(picker).findByText("Dmitri Patel"));
    await waitFor(() => expect(screen.queryByTestId("user-picker")).toBeNull(), { timeout: 5_000 });
    expect(screen.getByTestId("current-user").textContent).toContain("Dmitri Patel");
  });

  it("shows a typed error from the backend in the banner", async () => {
    const backend = fakeBackend({
      currentUser: vi.fn(async () => people[2]),
      worklistPage: vi.fn(async () => {
        throw new BackendError({ kind: "Store", detail: { message: "database is locked" } });
      }),
    });
    render(<App backend={backend} />);
    const banner = await screen.findByTestId("error-banner");
    expect(banner.textContent).toContain("The local database reported a problem: database is locked");
  });

});
