import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { Analysis, ImportReport, ImportRequest, NewPerson, Person, UnknownOwner } from "../backend";
import { ExportButtons } from "../components/ExportButtons";
import { fakeBackend, WithApp } from "../testing";
import { ImportScreen } from "./ImportScreen";

const analysis: Analysis = {
  kind: "accounts",
  path: "/data/sf.csv",
  file_name: "sf.csv",
  size_bytes: 2048,
  source: "Salesforce",
  delimiter: "comma",
  latin1: false,
  headers: ["Account ID", "Account Name", "ARR", "Renewal Date", "Account Owner"],
  samples: [["001A", "Northwind", "$1,200,000.00", "3/31/2027", "Dana Whitfield"]],
  fields: [
    { key: "external_id", label: "CRM id", required: true, hint: "" },
    { key: "name", label: "Name", required: true, hint: "" },
    { key: "arr", label: "ARR", required: true, hint: "" },
    { key: "renewal_date", label: "Renewal date", required: true, hint: "" },
    { key: "owner", label: "Owner (CSM)", required: false, hint: "" },
  ],
  mapping: [
    { field: "external_id", column: "Account ID" },
    { field: "name", column: "Account Name" },
    { field: "arr", column: "ARR" },
    { field: "renewal_date", column: "Renewal Date" },
    { field: "owner", column: "Account Owner" },
  ],
  warnings: [],
};

const report = (patch: Partial<ImportReport>): ImportReport => ({
  rows: 3,
  valid: 2,
  rejected: 1,
  inserted: 2,
  updated: 0,
  unchanged: 0,
  errors: [{ line: 3, column: "ARR", value: "-5", reason: "'-5' is negative" }],
  error_count: 1,
  rejects_path: null,
  committed: false,
  touched_accounts: 0,
  duration_ms: 12,
  warnings: [],
  unknown_owners: [],
  ...patch,
});

describe("ImportScreen", () => {
  it("walks from a file to a checked, partly rejected import", async () => {
    const analyzeImport = vi.fn(async () => analysis);
    const runImport = vi.fn(async (req: ImportRequest) =>
      req.mode === "check" ? report({}) : report({ committed: true, rejects_path: "/data/sf-rejects.csv", touched_accounts: 2 }),
    );
    const backend = fakeBackend({ analyzeImport, runImport, pickCsvFile: vi.fn(async () => "/data/sf.csv") });
    render(
      <WithApp backend={backend}>
        <ImportScreen onOpenAccounts={() => {}} />
      </WithApp>,
    );
    fireEvent.click(screen.getByTestId("import-choose"));
    await waitFor(() => expect((screen.getByTestId("import-path") as HTMLInputElement).value).toBe("/data/sf.csv"));
    fireEvent.click(screen.getByTestId("import-next"));
    await screen.findByText(/Recognised a Salesforce export/);
    expect(analyzeImport).toHaveBeenCalledWith("accounts", "/data/sf.csv");

    // The owner column names people Riskdesk does not know: leave it out.
    fireEvent.change(screen.getByTestId("map-select-owner"), { target: { value: "" } });
    // A required field cannot be left out.
    fireEvent.change(screen.getByTestId("map-select-arr"), { target: { value: "" } });
    expect((screen.getByTestId("import-check-rows") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/Choose a column for ARR/)).toBeTruthy();
    fireEvent.change(screen.getByTestId("map-select-arr"), { target: { value: "ARR" } });
    fireEvent.click(screen.getByTestId("import-check-rows"));

    const errors = await screen.findByTestId("import-errors");
    expect(errors.textContent).toContain("'-5' is negative");
    expect(errors.textContent).toContain("3");
    const check = runImport.mock.calls[0][0];
    expect(check.mode).toBe("check");
    expect(check.mapping.find((m) => m.field === "owner")?.column).toBeNull();

    fireEvent.click(screen.getByTestId("import-commit-valid"));
    await screen.findByTestId("import-done");
    expect(runImport.mock.calls[1][0].mode).toBe("valid_rows");
    expect(screen.getByTestId("import-rejects").textContent).toContain("/data/sf-rejects.csv");
    expect(screen.getByText(/Re-scored 2 accounts/)).toBeTruthy();
  });
});

describe("Unknown owners", () => {
  it("adds a new person and maps a Salesforce id to a known one, then checks again with both", async () => {
    const omar: Person = { id: "u-omar", name: "Omar Haddad", email: "omar@acme.example", role: "csm", title: "CSM", team: "Enterprise", active: true, salesforce_id: null, hubspot_id: null, accounts: 3 };
    const unknown: UnknownOwner[] = [
      { value: "0055g0000000002AAA", accounts: 5, looks_like: "salesforce_id" },
      { value: "Dana Whitfield", accounts: 2, looks_like: "name" },
    ];
    const runImport = vi.fn(async (req: ImportRequest) =>
      (req.owner_map ?? []).length === 0 ? report({ rejected: 0, errors: [], error_count: 0, unknown_owners: unknown }) : report({ rejected: 0, errors: [], error_count: 0 }),
    );
    const peopleAdd = vi.fn(async (p: NewPerson): Promise<Person> => ({ ...omar, ...p, id: p.email === omar.email ? omar.id : "u-dana", role: p.role ?? "csm", title: p.title ?? "", active: true, accounts: 0 }));
    const backend = fakeBackend({ analyzeImport: vi.fn(async () => analysis), runImport, peopleAdd, peopleList: vi.fn(async () => [omar]) });
    render(
      <WithApp backend={backend}>
        <ImportScreen onOpenAccounts={() => {}} />
      </WithApp>,
    );
    fireEvent.change(screen.getByTestId("import-path"), { target: { value: "/data/sf.csv" } });
    fireEvent.click(screen.getByTestId("import-next"));
    fireEvent.click(await screen.findByTestId("import-check-rows"));
    const box = await screen.findByTestId("unknown-owners");
    expect(box.textContent).toContain("7 accounts name 2 owners Riskdesk does not know");
    const [sf, dana] = screen.getAllByTestId("unknown-owner");
    expect(sf.textContent).toContain("Salesforce user id");
    // The id is someone Riskdesk knows; the name becomes a new person (name prefilled).
    expect((within(sf).getByTestId("owner-action") as HTMLSelectElement).value).toBe("leave");
    fireEvent.change(within(sf).getByTestId("owner-action"), { target: { value: "map" } });
    fireEvent.change(await within(sf).findByTestId("owner-person"), { target: { value: "u-omar" } });
    expect((within(dana).getByTestId("owner-name") as HTMLInputElement).value).toBe("Dana Whitfield");
    fireEvent.change(within(dana).getByTestId("owner-email"), { target: { value: "dana@acme.example" } });
    fireEvent.click(screen.getByTestId("owners-apply"));
    await waitFor(() => expect(screen.queryByTestId("unknown-owners")).toBeNull());
    // Omar keeps the Salesforce id, so the next file maps it by itself; Dana is new.
    expect(peopleAdd).toHaveBeenCalledWith(expect.objectContaining({ email: "omar@acme.example", salesforce_id: "0055g0000000002AAA" }));
    expect(peopleAdd).toHaveBeenCalledWith(expect.objectContaining({ name: "Dana Whitfield", email: "dana@acme.example", salesforce_id: null }));
    const last = runImport.mock.calls[runImport.mock.calls.length - 1][0];
    expect(last.mode).toBe("check");
    expect(last.owner_map).toEqual([
      { value: "0055g0000000002AAA", user_id: "u-omar" },
      { value: "Dana Whitfield", user_id: "u-dana" },
    ]);
  });
});

describe("ExportButtons", () => {
  it("saves the list where the user chose, or not at all when they cancel", async () => {
    const exportList = vi.fn(async (_v, _f, path: string) => ({ path, rows: 42 }));
    const pickSavePath = vi.fn(async () => "/home/me/worklist.xlsx");
    const backend = fakeBackend({ exportList, pickSavePath });
    render(
      <WithApp backend={backend}>
        <ExportButtons name="escalations" view={{ view: "escalations" }} />
      </WithApp>,
    );
    fireEvent.click(screen.getByTestId("export-escalations-xlsx"));
    await screen.findByTestId("export-saved");
    expect(exportList).toHaveBeenCalledWith({ view: "escalations" }, "xlsx", "/home/me/worklist.xlsx");
    expect(screen.getByTestId("export-saved").textContent).toContain("42 rows");

    pickSavePath.mockResolvedValueOnce(null as unknown as string);
    fireEvent.click(screen.getByTestId("export-escalations-csv"));
    await waitFor(() => expect(pickSavePath).toHaveBeenCalledTimes(2));
    expect(exportList).toHaveBeenCalledTimes(1);
  });
});
