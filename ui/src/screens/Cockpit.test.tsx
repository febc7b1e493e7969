import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { CockpitRow, Cta, CtaDetail } from "../backend";
import { fakeBackend, user, WithApp } from "../testing";
import { CockpitScreen, defaultScope, dueBucket, groupRows } from "./CockpitScreen";

const me = user({ name: "Dmitri Patel", role: "csm" });

function cta(id: string, priority: Cta["priority"], due: string | null, reason = `Reason ${id}`): Cta {
  return {
    id,
    account_id: `acct-${id}`,
    cta_type: "risk",
    reason,
    priority,
    status: "open",
    owner_id: me.id,
    due_on: due,
    snoozed_until: null,
    snooze_reason: null,
    outcome: null,
    closed_at: null,
    source: "rule",
    rule_id: "r1",
    evidence: ["rule “High severity” on 2026-11-20", "seat utilization 41 < 50"],
    flagged: false,
    category: null,
    expected: null,
    avoidable: null,
    playbook_id: null,
    created_at: "2026-11-20T08:00:00Z",
  };
}

function row(c: Cta, account: string): CockpitRow {
  return { cta: c, account_name: account, arr_base_minor: 12_000_000, owner_name: me.name, tasks_total: 2, tasks_done: 1, severity_level: "high" };
}

function detailOf(r: CockpitRow): CtaDetail {
  return { cta: r.cta, account_name: r.account_name, tasks: [], rule_name: "High severity", owner_name: me.name, playbook_name: null, updates: [], timeline: [] };
}

describe("cockpit grouping", () => {
  it("puts each CTA in a due bucket relative to today", () => {
    const today = "2026-11-23";
    expect(dueBucket("2026-11-20", today)).toBe("Overdue");
    expect(dueBucket(today, today)).toBe("Due today");
    expect(dueBucket("2026-11-30", today)).toBe("This week");
    expect(dueBucket("2026-12-01", today)).toBe("Later");
    expect(dueBucket(null, today)).toBe("No due date");
  });

  it("groups consecutive rows by priority, then due bucket", () => {
    const rows = [row(cta("a", "high", "2026-11-20"), "A"), row(cta("b", "high", "2026-11-21"), "B"), row(cta("c", "high", "2026-12-20"), "C"), row(cta("d", "low", null), "D")];
    const groups = groupRows(rows, "2026-11-23").map((g) => [g.priority, g.bucket, g.rows.map((r) => r.account_name).join("")]);
    expect(groups).toEqual([
      ["high", "Overdue", "AB"],
      ["high", "Later", "C"],
      ["low", "No due date", "D"],
    ]);
  });

  it("starts a CSM on their own CTAs, a manager on the team's, leadership on all", () => {
    expect(defaultScope(me)).toBe("mine");
    expect(defaultScope(user({ name: "M", role: "manager" }))).toBe("team");
    expect(defaultScope(user({ name: "E", role: "executive" }))).toBe("all");
  });
});

describe("CockpitScreen", () => {
  it("lists my CTAs, moves with j and flags with f", async () => {
    const rows = [row(cta("a", "high", "2026-01-02"), "Acme"), row(cta("b", "medium", null), "Globex")];
    const flagCta = vi.fn(async () => null);
    const backend = fakeBackend({
      cockpitCtas: vi.fn(async () => rows),
      ctaDetail: vi.fn(async (id: string) => detailOf(rows.find((r) => r.cta.id === id) ?? rows[0])),
      flagCta,
    });
    render(
      <WithApp backend={backend} me={me}>
        <CockpitScreen onOpenAccount={vi.fn()} />
      </WithApp>,
    );
    // Generous: CI's two cores also build and test the Rust side.
    const slow = { timeout: 5_000 };
    await waitFor(() => expect(screen.getAllByTestId("cockpit-row")).toHaveLength(2), slow);
    expect(backend.cockpitCtas).toHaveBeenCalledWith(expect.objectContaining({ scope: "mine" }));
    expect(screen.getAllByTestId("cockpit-group").map((g) => g.textContent)).toEqual(["high Overdue 1", "medium No due date 1"]);
    await waitFor(() => expect(screen.getByTestId("cta-reason").textContent).toBe("Reason a"), slow);
    expect(screen.getByTestId("cta-source").textContent).toContain("because seat utilization 41 < 50");

    fireEvent.keyDown(window, { key: "j" });
    await waitFor(() => expect(screen.getByTestId("cta-reason").textContent).toBe("Reason b"), slow);
    fireEvent.keyDown(window, { key: "f" });
    await waitFor(() => expect(flagCta).toHaveBeenCalledWith("b", true), slow);
  });

  it("asks who the user is before showing 'mine'", async () => {
    render(
      <WithApp backend={fakeBackend()} me={null}>
        <CockpitScreen onOpenAccount={vi.fn()} />
      </WithApp>,
    );
    // Without a user the scope starts on everyone's CTAs; "Mine" needs a user.
    fireEvent.click(screen.getByTestId("scope-mine"));
    expect(await screen.findByText(/Say who you are in Settings/, undefined, { timeout: 5_000 })).toBeTruthy();
  });
});
