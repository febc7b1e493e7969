// Leadership escalation end to end: a data change pushes an account over the threshold,
// its escalation appears in the WBR, a decision is recorded, and it closes with an outcome.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { By } from "selenium-webdriver";
import { atLeast, byTestId, eventually, find, launch, pickUser, screenshot, setValue, texts } from "./harness.mjs";

describe("Escalations", () => {
  let app;
  let driver;

  before(async () => {
    app = await launch();
    driver = app.driver;
    await pickUser(driver, "VP Customer Success");
  });

  after(async () => {
    await app?.stop();
  });

  let escalated;

  test("a data change pushes an account over the threshold and it reaches the WBR", async () => {
    await (await find(driver, "nav-escalations")).click();
    const summary = await find(driver, "wbr-summary");
    const before = Number((await eventually(async () => /^(\d+) open escalations/.exec(await summary.getText()), "no WBR summary"))[1]);
    const listed = new Set(await texts(driver, "wbr-account"));

    // Lower the bar to just under the most severe account that is not escalated yet,
    // then make a data change on it: its re-score runs the rules and the criteria.
    await (await find(driver, "nav-accounts")).click();
    await (await find(driver, "sort-severity")).click();
    await (await find(driver, "sort-severity")).click();
    const names = await eventually(async () => {
      const n = await texts(driver, "account-name");
      return n.length > 5 ? n : null;
    }, "no accounts");
    escalated = names.find((n) => !listed.has(n));
    assert.ok(escalated, "a severe account not yet escalated");
    await (await find(driver, "nav-settings")).click();
    await (await find(driver, "settings-tab-escalation")).click();
    await setValue(driver, await find(driver, "escalation-severity_threshold"), "5");
    await setValue(driver, await find(driver, "escalation-arr_floor"), "0");
    await (await find(driver, "escalation-save")).click();
    await eventually(async () => /Saved/.test(await (await find(driver, "escalation-message")).getText()), "criteria not saved");

    // Back to the same table (the view is kept: sorted by severity), no search to race.
    await (await find(driver, "nav-accounts")).click();
    const row = await eventually(
      async () => (await driver.findElements(By.xpath(`//*[@data-testid="account-row"][.//*[@data-testid="account-name" and contains(., ${JSON.stringify(escalated)})]]`)))[0],
      "the account is not found",
    );
    await row.click();
    await eventually(async () => (await (await find(driver, "account-title")).getText()).includes(escalated), "the account page did not open");
    await (await find(driver, "log-nps")).click();
    await (await find(driver, "nps-score")).findElement(By.css('option[value="2"]')).click();
    await (await find(driver, "nps-comment")).sendKeys("We are evaluating other vendors");
    await (await find(driver, "nps-save")).click();
    await eventually(async () => /NPS detractor/.test(await (await find(driver, "signals")).getText()), "not re-scored");

    await (await find(driver, "nav-escalations")).click();
    await eventually(async () => (await texts(driver, "wbr-account")).includes(escalated), `${escalated} is not in the WBR`);
    const after = Number(/^(\d+) open/.exec(await (await find(driver, "wbr-summary")).getText())[1]);
    assert.ok(after > before, `${after} open escalations, ${before} before`);
    await screenshot(driver, "30-wbr");
  });

  test("in WBR mode a decision and an agreed action are recorded, then it closes as saved", async () => {
    const accounts = await atLeast(driver, byTestId("wbr-account"), 1, "the WBR lists no account");
    for (const a of accounts) if ((await a.getText()) === escalated) await a.click();
    await eventually(async () => (await (await find(driver, "escalation-account")).getText()) === escalated, "not selected");
    await (await find(driver, "wbr-mode")).click();
    await find(driver, "wbr-meeting");
    await (await find(driver, "decision-text")).sendKeys("CRO calls their CFO this week");
    await (await find(driver, "decision-add")).click();
    await eventually(async () => /CRO calls their CFO this week/.test(await (await find(driver, "escalation-decisions")).getText()), "no decision");
    await (await find(driver, "action-description")).sendKeys("Offer a two-year price lock");
    await (await find(driver, "action-add")).click();
    await eventually(async () => /Commercial concession|Executive outreach/.test(await (await find(driver, "escalation-actions")).getText()), "no action");
    await screenshot(driver, "31-wbr-mode");

    await (await find(driver, "escalation-close")).click();
    await setValue(driver, await find(driver, "escalation-outcome"), "saved");
    await (await find(driver, "escalation-close-confirm")).click();
    await eventually(async () => (await (await find(driver, "escalation-account")).getText()) !== escalated, "still open");
    await (await find(driver, "escalations-tab-outcomes")).click();
    const outcome = await find(driver, "outcome-summary");
    await eventually(async () => /Closed escalations\s*1/.test(await outcome.getText()), "the outcome is not counted");
    assert.match(await (await find(driver, "per-criterion")).getText(), /Severity over threshold\s*1\s*1/);
  });

  test("the dashboard counts the outcome, and a bar opens the accounts behind it", async () => {
    await (await find(driver, "nav-dashboards")).click();
    const funnel = await find(driver, "dash-funnel");
    await eventually(async () => /Closed\s*1[\s\S]*· saved\s*1/.test(await funnel.getText()), "the funnel does not count the saved escalation");
    await screenshot(driver, "32-dashboards");
    const high = await eventually(async () => {
      for (const l of await driver.findElements(byTestId("dash-severity-link"))) if ((await l.getText()) === "High") return l;
      return null;
    }, "no High severity bar");
    await high.click();
    await eventually(async () => (await (await find(driver, "worklist-severity")).getAttribute("value")) === "high", "the worklist is not filtered to High");
    const rows = await eventually(async () => {
      const r = await driver.findElements(byTestId("worklist-row"));
      return r.length > 0 ? r : null;
    }, "no accounts behind the bar");
    assert.ok(rows.length > 0);
    assert.match(await (await find(driver, "worklist-scope-all")).getAttribute("class"), /active/);
  });

  test("the monthly risk report previews and exports as HTML and CSV to a chosen folder", async () => {
    await (await find(driver, "nav-dashboards")).click();
    const title = await find(driver, "report-title");
    await eventually(async () => /Monthly risk report/.test(await title.getText()), "no report preview");
    assert.match(await title.getText(), /Top risks: \d+/);
    const folder = mkdtempSync(path.join(tmpdir(), "riskdesk-reports-"));
    await setValue(driver, await find(driver, "report-folder"), folder);
    await (await find(driver, "report-export")).click();
    const saved = await find(driver, "report-saved");
    await eventually(async () => /\.html and .+\.csv/.test(await saved.getText()), "not exported");
    const stem = /risk-report-\d{4}-\d{2}/.exec(await saved.getText())[0];
    assert.ok(existsSync(path.join(folder, `${stem}.html`)));
    const csv = readFileSync(path.join(folder, `${stem}.csv`), "utf8");
    assert.match(csv.split("\n")[0], /^section,Account,ARR,Severity,Priority,Category,Owner/);
    await screenshot(driver, "33-report");
  });
});
