import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Condition, Rule } from "../backend";
import { BackendError } from "../backend";
import { fakeBackend, WithApp } from "../testing";
import { blankCondition, CONDITION_KINDS, NEW_RULE } from "./RuleEditor";
import { describeActions, RulesScreen } from "./RulesScreen";

const rule: Rule = {
  id: "0190f3c4-0000-7000-8000-000000000001",
  name: "NPS detractor → follow-up",
  enabled: true,
  version: 2,
  definition: {
    description: "Close the loop with detractors",
    condition: { kind: "signal", signal: "nps_detractor", min_severity: "medium" },
    actions: [
      { kind: "create_cta", cta_type: "risk", reason: "NPS detractor", priority: "high", playbook: "Detractor follow-up", owner: { kind: "account_owner" }, due_in_days: 5 },
      { kind: "close_when_cleared", outcome: "resolved" },
    ],
  },
};

describe("rule builder pieces", () => {
  it("gives every condition kind a blank of that kind", () => {
    for (const [kind] of CONDITION_KINDS) {
      const c: Condition = blankCondition(kind);
      expect(c.kind).toBe(kind);
    }
  });

  it("says what a rule does in a line", () => {
    expect(describeActions(rule.definition.actions)).toBe("creates a high risk CTA (Detractor follow-up) · closes it as resolved when cleared");
    expect(describeActions([{ kind: "escalate_to_leadership", reason: "Severity above 50" }, { kind: "start_digital_playbook", playbook: "Digital re-engagement" }])).toBe(
      "escalates to leadership · starts Digital re-engagement",
    );
  });
});

describe("RulesScreen", () => {
  it("lists rules, toggles one off and shows a save refusal in the editor", async () => {
    const setRuleEnabled = vi.fn(async () => null);
    const saveRule = vi.fn(async () => {
      throw new BackendError({ kind: "Invalid", detail: { field: "rule x", reason: "actions[0].create_cta.reason: say why the CTA exists" } });
    });
    const backend = fakeBackend({ listRules: vi.fn(async () => [rule]), setRuleEnabled, saveRule });
    render(
      <WithApp backend={backend}>
        <RulesScreen />
      </WithApp>,
    );
    await waitFor(() => expect(screen.getAllByTestId("rule-row")).toHaveLength(1), { timeout: 5_000 });
    fireEvent.click(screen.getByTestId("rule-enabled"));
    await waitFor(() => expect(setRuleEnabled).toHaveBeenCalledWith(rule.id, false));

    fireEvent.click(screen.getByTestId("rule-new"));
    fireEvent.change(screen.getByTestId("rule-name"), { target: { value: "Red renewals" } });
    fireEvent.change(screen.getByTestId("cond-value-c.0"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("rule-save"));
    // A blank number is refused before it is sent, named as the Rust side names it.
    const problem = await screen.findByTestId("rule-problem");
    expect(problem.textContent).toContain("condition.all[0].number(health score): the value is not a number");
    expect(saveRule).not.toHaveBeenCalled();
    // Anything else the Rust side refuses shows in the same place.
    fireEvent.change(screen.getByTestId("cond-value-c.0"), { target: { value: "40" } });
    fireEvent.click(screen.getByTestId("rule-save"));
    await waitFor(() => expect(screen.getByTestId("rule-problem").textContent).toContain("rule x"));
    const sent = saveRule.mock.calls[0] as unknown[];
    expect(sent[1]).toBe("Red renewals");
    expect(NEW_RULE.condition.kind).toBe("all");
  });

  it("imports a rules file only after showing what it adds, changes and removes", async () => {
    const plan = { added: ["High severity to leadership"], changed: [{ name: "NPS detractor", what: ["disabled"] }], removed: ["Renewal in 120 days"], unchanged: 5, applied: false };
    const importRules = vi.fn(async (_path: string, apply: boolean) => ({ ...plan, applied: apply }));
    const backend = fakeBackend({ listRules: vi.fn(async () => [rule]), pickRulesFile: vi.fn(async () => "/home/ops/rules.json"), importRules });
    render(
      <WithApp backend={backend}>
        <RulesScreen />
      </WithApp>,
    );
    fireEvent.click(await screen.findByTestId("rules-import"));
    const card = await screen.findByTestId("rules-import-plan");
    expect(card.textContent).toContain("Import rules from rules.json");
    expect(screen.getByTestId("plan-added").textContent).toBe("Add High severity to leadership");
    expect(screen.getByTestId("plan-changed").textContent).toBe("Change NPS detractor (disabled)");
    expect(screen.getByTestId("plan-removed").textContent).toBe("Remove Renewal in 120 days");
    expect(importRules).toHaveBeenLastCalledWith("/home/ops/rules.json", false);
    fireEvent.click(screen.getByTestId("rules-import-apply"));
    await waitFor(() => expect(importRules).toHaveBeenLastCalledWith("/home/ops/rules.json", true));
    expect((await screen.findByTestId("rules-file-note")).textContent).toBe("Imported: 1 added, 1 changed, 1 removed");
  });
});
