// Turning risk into work: the Cockpit, a CTA worked from start to snooze, the account
// timeline, and rules built, previewed, switched off and run.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { By } from "selenium-webdriver";
import { byTestId, eventually, find, launch, press, screenshot, setValue, texts } from "./harness.mjs";

const RANK = { high: 0, medium: 1, low: 2 };

describe("Cockpit and rules", () => {
  let app;
  let driver;

  before(async () => {
    app = await launch();
    driver = app.driver;
    // A CSM: the first person the picker offers.
    await (await find(driver, "pick-user")).click();
    await eventually(async () => (await driver.findElements(byTestId("user-picker"))).length === 0, "picker did not close");
  });

  after(async () => {
    await app?.stop();
  });

  async function detailReason() {
    return (await (await find(driver, "cockpit-detail")).findElement(byTestId("cta-reason"))).getText();
  }

  test("the Cockpit lists my CTAs by priority and due date; the keyboard moves and flags", async () => {
    await (await find(driver, "nav-cockpit")).click();
    const rows = await eventually(async () => {
      const r = await driver.findElements(byTestId("cockpit-row"));
      return r.length > 1 ? r : null;
    }, "the CSM has no CTAs");
    assert.match(await (await find(driver, "scope-mine")).getAttribute("class"), /active/);
    const groups = await texts(driver, "cockpit-group");
    const ranks = groups.map((g) => RANK[g.split(" ")[0].toLowerCase()]);
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `groups not by priority: ${groups}`);
    const reasons = (await texts(driver, "cockpit-row")).slice(0, 2);
    await eventually(async () => reasons[0].includes(await detailReason()), "the first CTA is not shown");
    assert.match(await (await find(driver, "cta-source")).getText(), /Created by rule “.+” on .+ because .+/);

    await rows[0].click();
    await press(driver, "j");
    await eventually(async () => reasons[1].includes(await detailReason()), "j did not move to the next CTA");
    await press(driver, "f");
    const flag = async () => (await (await find(driver, "cockpit-detail")).findElement(byTestId("cta-flag"))).getAttribute("aria-pressed");
    await eventually(async () => (await flag()) === "true", "f did not flag the CTA");
    await (await find(driver, "filter-flagged")).click();
    await eventually(async () => (await driver.findElements(byTestId("cockpit-row"))).length === 1, "the flagged filter does not show just the flagged CTA");
    await (await find(driver, "filter-flagged")).click();
    await screenshot(driver, "10-cockpit");
  });

  test("a CSM opens a CTA by hand, works its tasks, logs a call, judges the risk and snoozes it", async () => {
    const account = (await texts(driver, "cockpit-row-account"))[0];
    await press(driver, "n");
    const form = await find(driver, "new-cta-form");
    await (await form.findElement(byTestId("new-cta-search"))).sendKeys(account);
    const match = await eventually(async () => (await form.findElements(byTestId("new-cta-match")))[0], "the account search found nothing");
    await match.click();
    await (await form.findElement(byTestId("new-cta-reason"))).sendKeys("Champion leaving in January");
    await setValue(driver, await form.findElement(byTestId("new-cta-priority")), "high");
    const playbook = await form.findElement(byTestId("new-cta-playbook"));
    const sponsor = await eventually(async () => (await playbook.findElements(By.xpath(`./option[.="Sponsor re-engagement"]`)))[0], "no playbooks offered");
    await setValue(driver, playbook, await sponsor.getAttribute("value"));
    await (await form.findElement(byTestId("new-cta-save"))).click();

    await eventually(async () => (await detailReason()) === "Champion leaving in January", "the new CTA is not selected");
    const detail = await find(driver, "cockpit-detail");
    assert.match(await (await detail.findElement(byTestId("cta-source"))).getText(), /Created by hand on .+ · playbook Sponsor re-engagement/);
    await eventually(async () => (await detail.findElements(byTestId("task-toggle"))).length === 3, "the playbook's three tasks");

    // Tasks: tick one off, add one by hand.
    await (await detail.findElements(byTestId("task-toggle")))[0].click();
    await eventually(async () => (await (await detail.findElements(byTestId("task-toggle")))[0].isSelected()), "the task did not complete");
    await (await detail.findElement(byTestId("task-add-title"))).sendKeys("Send the exec sponsor brief");
    await (await detail.findElement(byTestId("task-add"))).click();
    await eventually(async () => (await texts(driver, "task-title")).includes("Send the exec sponsor brief"), "the added task is missing");
    const row = await eventually(async () => {
      for (const r of await driver.findElements(byTestId("cockpit-row"))) if ((await r.getAttribute("textContent")).includes("Champion leaving")) return r;
      return null;
    }, "the new CTA is not in the list");
    await eventually(async () => /1\/4 tasks/.test(await row.getAttribute("textContent")), "the list does not count 1 of 4 tasks done");

    // Log a call against the CTA (l), judge it (e), snooze it (s).
    await row.click();
    await press(driver, "l");
    await (await find(driver, "activity-body")).sendKeys("Called the champion: she leaves on Jan 15");
    await (await find(driver, "activity-save")).click();
    await eventually(async () => /Called the champion: she leaves on Jan 15/.test(await (await find(driver, "cta-timeline")).getText()), "the call is not on the CTA");

    await row.click();
    await press(driver, "e");
    await (await find(driver, "edit-category")).sendKeys("sponsor change");
    await setValue(driver, await find(driver, "edit-expected"), "no");
    await setValue(driver, await find(driver, "edit-avoidable"), "yes");
    await (await find(driver, "edit-save")).click();
    await eventually(async () => /sponsor change[\s\S]*Unexpected · avoidable/.test(await (await find(driver, "cta-judgment")).getText()), "the judgment is not shown");
    await screenshot(driver, "11-cta-worked");

    await row.click();
    await press(driver, "s");
    const until = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    await setValue(driver, await find(driver, "snooze-until"), until);
    await (await find(driver, "snooze-reason")).sendKeys("Waiting for the new champion to start");
    await (await find(driver, "snooze-save")).click();
    await eventually(async () => /snoozed until/.test(await (await find(driver, "cockpit-detail")).getText()), "not snoozed");
    await setValue(driver, await find(driver, "filter-status"), "snoozed");
    await eventually(async () => (await texts(driver, "cockpit-row")).some((t) => t.includes("Champion leaving")), "the snoozed filter does not show it");
    await setValue(driver, await find(driver, "filter-status"), "");
  });

  test("the account's timeline shows what happened to its CTAs and takes a logged meeting", async () => {
    await (await find(driver, "cta-account")).click();
    const card = await find(driver, "timeline-card");
    await eventually(async () => /CTA opened by hand: Champion leaving in January/.test(await card.getText()), "no system event for the new CTA");
    assert.match(await card.getText(), /Called the champion: she leaves on Jan 15 · on CTA “Champion leaving in January”/);
    await setValue(driver, await card.findElement(byTestId("activity-kind")), "meeting");
    await (await card.findElement(byTestId("activity-body"))).sendKeys("QBR with the new VP of Operations");
    await (await card.findElement(byTestId("activity-save"))).click();
    await eventually(async () => (await texts(driver, "timeline-body"))[0]?.startsWith("QBR with the new VP of Operations"), "the meeting is not at the top");
    await screenshot(driver, "12-timeline");
    await (await find(driver, "back-to-accounts")).click();
  });

  test("a rule is built, previewed, refused while invalid, saved, switched off, and runs are logged", async () => {
    await (await find(driver, "nav-rules")).click();
    const before = await eventually(async () => {
      const r = await driver.findElements(byTestId("rule-row"));
      return r.length > 0 ? r.length : null;
    }, "no rules listed");
    await (await find(driver, "rule-new")).click();
    await (await find(driver, "rule-name")).sendKeys("Red renewal within 90 days");
    await (await find(driver, "cond-add-c")).click();
    await setValue(driver, await find(driver, "cond-field-c.1"), "days_to_renewal");
    await setValue(driver, await find(driver, "cond-compare-c.1"), "le");
    await setValue(driver, await find(driver, "cond-value-c.1"), "90");
    await (await find(driver, "action-reason-0")).sendKeys("Red renewal within 90 days");
    await (await find(driver, "rule-preview")).click();
    const summary = await find(driver, "preview-summary", 30_000);
    assert.match(await summary.getText(), /[\d,]+ of 2,500 accounts match · \d+ new CTAs/);
    const why = await texts(driver, "preview-row");
    assert.ok(why.length > 0, "the preview lists no accounts");
    assert.ok(why.every((t) => /health score [\d.]+ < 50; days to renewal -?\d+ ≤ 90/.test(t)), `evidence: ${why[0]}`);
    await screenshot(driver, "13-rule-preview");

    await setValue(driver, await find(driver, "cond-value-c.0"), "");
    await (await find(driver, "rule-save")).click();
    assert.match(await (await find(driver, "rule-problem")).getText(), /condition\.all\[0\]\.number\(health score\): the value is not a number/);
    await setValue(driver, await find(driver, "cond-value-c.0"), "50");
    await (await find(driver, "rule-save")).click();
    await eventually(async () => (await driver.findElements(byTestId("rule-row"))).length === before + 1, "the saved rule is not listed");

    const ours = async () => {
      for (const r of await driver.findElements(byTestId("rule-row"))) if ((await r.getAttribute("textContent")).includes("Red renewal within 90 days")) return r;
      return null;
    };
    await (await (await ours()).findElement(byTestId("rule-enabled"))).click();
    await eventually(async () => !(await (await (await ours()).findElement(byTestId("rule-enabled"))).isSelected()), "the rule is still on");

    await (await find(driver, "rules-run")).click();
    const result = await find(driver, "rules-run-result", 60_000);
    assert.match(await result.getText(), /2,500 accounts · \d+ CTAs created/);
    await (await find(driver, "rules-tab-log")).click();
    const log = await eventually(async () => {
      const r = await texts(driver, "run-log-row");
      return r.length >= 2 ? r : null;
    }, "the run log is short");
    assert.match(log[0], /on demand/);
    assert.match(log[log.length - 1], /first start/);
  });

  test("a playbook edit is saved and a bad one is refused with the part named", async () => {
    await (await find(driver, "rules-tab-playbooks")).click();
    const first = await find(driver, "playbook");
    const tasks = (await first.findElements(byTestId("playbook-task-title"))).length;
    await (await first.findElement(byTestId("playbook-add-task"))).click();
    await (await first.findElements(byTestId("playbook-task-title")))[tasks].sendKeys("Executive sponsor call");
    await (await first.findElement(byTestId("playbook-save"))).click();
    // Saved, not just typed: the editor comes back from the store clean (Save disabled)
    // with the extra task.
    await eventually(async () => {
      const card = await find(driver, "playbook");
      const clean = !(await (await card.findElement(byTestId("playbook-save"))).isEnabled());
      return clean && (await card.findElements(byTestId("playbook-task-title"))).length === tasks + 1;
    }, "the task was not kept");

    const again = await find(driver, "playbook");
    await setValue(driver, (await again.findElements(byTestId("playbook-task-title")))[0], "");
    await (await again.findElement(byTestId("playbook-save"))).click();
    assert.match(await (await find(driver, "playbook-problem")).getText(), /tasks\[1\]\.title: say what needs doing/);
  });
});
