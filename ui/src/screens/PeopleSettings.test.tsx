import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Person } from "../backend";
import { fakeBackend, WithApp } from "../testing";
import { PeopleSettings } from "./PeopleSettings";

const dana: Person = {
  id: "u1",
  name: "Dana Whitfield",
  email: "dana@acme.example",
  role: "csm",
  title: "Senior CSM",
  team: "Enterprise",
  active: true,
  salesforce_id: "0055g0000000001AAA",
  hubspot_id: null,
  accounts: 12,
};

describe("People", () => {
  it("checks a CRM user export before importing it, then lists the team with their CRM ids", async () => {
    let people: Person[] = [];
    const peopleImport = vi.fn(async (_path: string, check: boolean) => {
      if (!check) people = [dana];
      return { format: "Salesforce users", rows: 2, inserted: 1, updated: 0, unchanged: 0, rejected: 1, errors: [{ line: 3, column: "email", value: "", reason: "'nobody' is not an email address" }], committed: !check };
    });
    const backend = fakeBackend({ peopleList: vi.fn(async () => people), peopleImport });
    render(
      <WithApp backend={backend}>
        <PeopleSettings />
      </WithApp>,
    );
    fireEvent.change(await screen.findByTestId("people-file"), { target: { value: "/tmp/users.csv" } });
    fireEvent.click(screen.getByTestId("people-check"));
    await waitFor(() => expect(screen.getByTestId("people-report").textContent).toContain("nothing written yet"));
    expect(screen.getByTestId("people-report").textContent).toContain("line 3, email: 'nobody' is not an email address");
    expect(screen.queryAllByTestId("person-row")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("people-import"));
    await waitFor(() => expect(screen.getAllByTestId("person-row")).toHaveLength(1));
    expect(peopleImport).toHaveBeenLastCalledWith("/tmp/users.csv", false);
    expect(screen.getByTestId("people-table").textContent).toContain("Salesforce 0055g0000000001AAA");
  });

  it("deactivates a person instead of deleting them", async () => {
    const peopleSetActive = vi.fn(async () => ({ ...dana, active: false }));
    const backend = fakeBackend({ peopleList: vi.fn(async () => [dana]), peopleSetActive });
    render(
      <WithApp backend={backend}>
        <PeopleSettings />
      </WithApp>,
    );
    fireEvent.click(await screen.findByTestId("person-active"));
    await waitFor(() => expect(peopleSetActive).toHaveBeenCalledWith("u1", false));
  });
});
