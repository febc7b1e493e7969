// A manager's morning: the ranked worklist of their team, why an account is where it is,
// acting from a row, next quarter's renewals, the huddle, and tuning the weights.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { By } from "selenium-webdriver";
import { byTestId, eventually, find, launch, pickUser, screenshot, setValue, texts } from "./harness.mjs";

describe("Worklist", () => {
  let app;
  let driver;

  before(async () => {
    app = await launch();
    driver = app.driver;
    // The Enterprise team's manager: a team with named CSMs and their at-risk accounts.
    await pickUser(driver, "Manager, Enterprise");
  });

  after(async () => {
    await app?.stop();
  });

  const rows = async () => {
    const r = await texts(driver, "worklist-rank");
    return r.length > 0 ? r : null;
  };

  test("the home screen is the team's ranked worklist", async () => {
    assert.match(await (await find(driver, "nav-worklist")).getAttribute("aria-current"), /page/);
    assert.match(await (await find(driver, "worklist-scope-team")).getAttribute("class"), /active/);
    const ranks = await eventually(rows, "the worklist is empty");
    assert.deepEqual(ranks.map(Number), ranks.map((_, i) => i + 1));
    const scores = (await texts(driver, "worklist-score")).map(Number);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "not ranked by priority");
    assert.match(await (await find(driver, "worklist-count")).getText(), /^[\d,]+ accounts at risk$/);
    await screenshot(driver, "20-worklist");
  });

  test("filtering by owner shows only that CSM's accounts, still ranked", async () => {
    const select = await find(driver, "worklist-owner");
    // The people to filter by: every option but "Any owner" and "Unassigned".
    const people = await eventually(async () => {
      const found = [];
      for (const o of await select.findElements(By.css("option"))) {
        const value = await o.getAttribute("value");
        if (value && value !== "unassigned") found.push({ value, name: (await o.getText()).trim() });
      }
      return found.length > 1 ? found : null;
    }, "no owners to filter by");
    const { value, name: owner } = people[0];
    await setValue(driver, select, value);
    await eventually(async () => {
      const owners = await texts(driver, "worklist-owner-cell");
      return owners.length > 0 && owners.every((o) => o === owner);
    }, `not only ${owner}'s accounts`);
    const scores = (await texts(driver, "worklist-score")).map(Number);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    // A manager can ask for the accounts nobody owns: no CSM's name is left in the list.
    await setValue(driver, select, "unassigned");
    await eventually(async () => (await texts(driver, "worklist-owner-cell")).every((o) => o === "unassigned"), "the Unassigned filter still lists owners");
    await setValue(driver, select, "");
    await eventually(async () => new Set(await texts(driver, "worklist-owner-cell")).size > 1, "the filter did not clear");
  });

  test("a row expands to say why it is there, and a manager escalates it to leadership", async () => {
    // The highest-ranked account not escalated yet (rows are in DOM order here).
    const at = await driver.executeScript(
      `return [...document.querySelectorAll('[data-testid="worklist-row"]')].findIndex((r) => !r.querySelector('[data-testid="escalated-pill"]'));`,
    );
    assert.ok(at >= 0, "every listed account is already escalated");
    // A table row is not clickable for WebDriver; its account name is.
    const first = (await driver.findElements(byTestId("worklist-name")))[at];
    const name = await first.getText();
    const score = (await texts(driver, "worklist-score"))[at];
    const ctasBefore = Number((await texts(driver, "worklist-ctas"))[at]);
    await first.click();
    const why = await find(driver, "why-here");
    const factors = await eventually(async () => {
      const t = await (await find(driver, "why-factors")).getText();
      return /Avoidability/.test(t) ? t : null;
    }, "no factors");
    for (const f of ["Severity", "Revenue impact", "Strategic value", "Urgency", "Avoidability"]) assert.match(factors, new RegExp(f));
    assert.ok(factors.trim().endsWith(score), `the factors end at the row's score ${score}: ${factors}`);
    await screenshot(driver, "21-why-here");

    await (await why.findElement(byTestId("why-escalate"))).click();
    await (await find(driver, "escalate-reason")).sendKeys("budget freeze threatens the renewal");
    await (await find(driver, "escalate-confirm")).click();
    // The row now says it is escalated and counts the escalation among its CTAs.
    await eventually(async () => {
      const names = await texts(driver, "worklist-name");
      const i = names.indexOf(name);
      const row = (await driver.findElements(byTestId("worklist-row")))[i];
      return i >= 0 && Number((await texts(driver, "worklist-ctas"))[i]) === ctasBefore + 1 && (await row.findElements(byTestId("escalated-pill"))).length === 1;
    }, "the row does not show the escalation");
  });

  test("renewal triage groups next quarter's renewals into one work order", async () => {
    await (await find(driver, "worklist-tab-triage")).click();
    const groups = await find(driver, "triage-groups");
    assert.equal((await groups.findElements(By.css("button"))).length, 6);
    const summary = await find(driver, "triage-summary");
    const count = Number((await eventually(async () => /^(\d+) renewals/.exec(await summary.getText()), "no summary"))[1]);
    const order = await texts(driver, "triage-row");
    assert.equal(order.length, count, "each renewal once");
    assert.ok(order.every((t, i) => t.startsWith(String(i + 1))), "positions run 1..n");
    // Risk first, each risk row with its causes and stake; no upsell above a risk.
    const group = (t) => /At risk|NPS detractors|Medium risk|Not enough data|Upsell candidates|Healthy/.exec(t)?.[0];
    const risky = (t) => ["At risk", "NPS detractors", "Medium risk", "Not enough data"].includes(group(t));
    const lastRisk = order.map(risky).lastIndexOf(true);
    const firstUpsell = order.findIndex((t) => group(t) === "Upsell candidates");
    assert.ok(lastRisk >= 0, "the demo book renews some accounts at risk next quarter");
    assert.ok(firstUpsell === -1 || firstUpsell > lastRisk, `an upsell (${firstUpsell + 1}) ranks above a risk (${lastRisk + 1})`);
    for (const t of order.filter((t) => group(t) === "At risk")) assert.match(t, /likely lost \(severity \d+\) = .+ at stake/);
    // Every risk row names its causes.
    const rows = await driver.findElements(byTestId("triage-row"));
    for (const [i, row] of rows.entries()) {
      if (group(order[i]) === "At risk") assert.equal((await row.findElements(byTestId("triage-causes"))).length, 1, order[i]);
    }
    await screenshot(driver, "22-triage");
    // The explicit setting weighs upsells against risk, and is kept.
    const together = await find(driver, "triage-upsell-with-risk");
    await together.click();
    await eventually(async () => (await (await find(driver, "triage-upsell-with-risk")).isSelected()) || null, "the setting did not stick");
    await (await find(driver, "triage-upsell-with-risk")).click();
    await eventually(async () => !(await (await find(driver, "triage-upsell-with-risk")).isSelected()) || null, "the setting did not go back");
  });

  test("the huddle lists each CSM's top five and exports them", async () => {
    await (await find(driver, "worklist-tab-huddle")).click();
    const csms = await eventually(async () => {
      const c = await driver.findElements(byTestId("huddle-csm"));
      return c.length > 0 ? c : null;
    }, "no CSMs in the huddle");
    for (const c of csms) assert.ok((await c.findElements(byTestId("huddle-account"))).length <= 5);
    await (await find(driver, "huddle-export")).click();
    assert.match(await (await find(driver, "huddle-saved")).getText(), /Saved to .+risk-huddle-\d{4}-\d{2}-\d{2}\.md/);
  });

  test("the tech-touch lane counts its accounts, and a higher ARR line moves more into it", async () => {
    const lane = async () => {
      await (await find(driver, "nav-worklist")).click();
      await (await find(driver, "worklist-tab-lane")).click();
      const number = async (id) => Number((await (await find(driver, id)).getText()).replace(/,/g, ""));
      const accounts = await eventually(async () => {
        const n = await number("lane-accounts");
        return Number.isInteger(n) ? n : null;
      }, "the lane shows no count");
      // "At risk: 1,234" style rows: the label, then the count.
      const counts = async (id) => (await texts(driver, id)).map((t) => Number(/(\d[\d,]*)$/.exec(t)?.[1].replace(/,/g, "")));
      return { accounts, atRisk: await number("lane-at-risk"), severities: await counts("lane-severity"), categories: await counts("lane-category") };
    };
    const before = await lane();
    assert.ok(before.accounts > 0, "the demo book has tech-touch accounts");
    assert.ok(before.atRisk <= before.accounts);
    // Every lane account has one severity (or none yet); every one at risk has one category.
    assert.equal(before.severities.reduce((a, b) => a + b, 0), before.accounts, "the severities do not add up to the lane");
    assert.equal(before.categories.reduce((a, b) => a + b, 0), before.atRisk, "the categories do not add up to the accounts at risk");
    assert.match(await (await find(driver, "lane-line")).getText(), /below \$10,000 ARR/);
    await screenshot(driver, "24-lane");
    // An exception for a person opens its account.
    const exceptions = await driver.findElements(byTestId("lane-exception"));
    if (exceptions.length > 0) {
      const name = await exceptions[0].getText();
      await exceptions[0].click();
      await eventually(async () => (await (await find(driver, "account-title")).getText()).includes(name) || null, `${name} did not open`);
    }

    // A manager moves the line up: accounts under it leave the CSMs' lists for the lane.
    await (await find(driver, "nav-settings")).click();
    await (await find(driver, "settings-tab-priority")).click();
    await setValue(driver, await find(driver, "priority-digital_lane_arr"), "100000");
    await (await find(driver, "priority-save")).click();
    await eventually(async () => /re-ranked/.test(await (await find(driver, "priority-message")).getText()), "not saved");
    const after = await lane();
    assert.match(await (await find(driver, "lane-line")).getText(), /below \$100,000 ARR/);
    assert.ok(after.accounts > before.accounts, `the lane held ${before.accounts} accounts and holds ${after.accounts}`);
    assert.equal(after.severities.reduce((a, b) => a + b, 0), after.accounts);
    // Put the line back for the tests after this one.
    await (await find(driver, "nav-settings")).click();
    await (await find(driver, "settings-tab-priority")).click();
    await setValue(driver, await find(driver, "priority-digital_lane_arr"), "10000");
    await (await find(driver, "priority-save")).click();
    await eventually(async () => /re-ranked/.test(await (await find(driver, "priority-message")).getText()), "not put back");
  });

  test("new weights re-rank the worklist; a category gets an owner", async () => {
    await (await find(driver, "nav-settings")).click();
    await (await find(driver, "settings-tab-priority")).click();
    const strategic = await find(driver, "priority-strategic_multiplier");
    await setValue(driver, strategic, "9");
    await (await find(driver, "priority-save")).click();
    assert.match(await (await find(driver, "priority-message")).getText(), /strategic_multiplier: 9 is not above 0 and at most 5/);
    await setValue(driver, strategic, "4");
    await (await find(driver, "priority-save")).click();
    await eventually(async () => /re-ranked/.test(await (await find(driver, "priority-message")).getText()), "not saved");

    await (await find(driver, "settings-tab-categories")).click();
    const before = await eventually(async () => {
      const r = await driver.findElements(byTestId("category-row"));
      return r.length > 0 ? r.length : null;
    }, "no categories");
    await (await find(driver, "category-name")).sendKeys("Pricing");
    await (await find(driver, "category-add")).click();
    await eventually(async () => (await driver.findElements(byTestId("category-row"))).length === before + 1, "the category was not added");
    assert.ok((await texts(driver, "category-row")).some((t) => t.startsWith("pricing")));
    await screenshot(driver, "23-categories");
  });
});
