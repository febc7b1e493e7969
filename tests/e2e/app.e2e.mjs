// What a new user does on first start: say who they are, browse the demo accounts,
// search, open an account and see its usage.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { By, Key, until } from "selenium-webdriver";
import { atLeast, byTestId, eventually, find, launch, screenshot, texts } from "./harness.mjs";

const DEMO_ACCOUNTS = 2500;

describe("Riskdesk desktop app", () => {
  let app;
  let driver;

  /** Opens the account at the top of the table and waits for its health. */
  async function openFirstAccount() {
    // The table may still be reloading (a search just cleared): a row found a moment ago
    // can be gone by the click, so the name, the row and the click are retried together.
    // A click that landed on a row being replaced opens nothing: until the account's
    // measures show, look again and click again.
    let clicked = null;
    await eventually(async () => {
      if ((await driver.findElements(byTestId("measures"))).length > 0) return true;
      const name = (await texts(driver, "account-name"))[0];
      if (!name) return false;
      const row = await driver.findElement(By.xpath(`//*[@data-testid="account-row"][.//*[@data-testid="account-name" and contains(., ${JSON.stringify(name)})]]`));
      await row.click();
      clicked = name;
      await driver.wait(until.elementLocated(byTestId("measures")), 2_000);
      return true;
    }, "the first account did not open", 30_000);
    return clicked;
  }

  before(async () => {
    app = await launch();
    driver = app.driver;
  });

  after(async () => {
    await app?.stop();
  });

  test("the window opens and asks who the user is", async () => {
    assert.equal(await driver.getTitle(), "Riskdesk");
    const picker = await find(driver, "user-picker");
    const choices = await atLeast(driver, byTestId("pick-user"), 5, "expected demo people to pick from");
    await screenshot(driver, "01-first-start");
    const chosen = (await choices[0].findElement(By.css("strong")).getText()).trim();
    await choices[0].click();
    await eventually(async () => (await driver.findElements(byTestId("user-picker"))).length === 0, "picker did not close");
    const who = await find(driver, "current-user");
    assert.match(await who.getText(), new RegExp(chosen));
    assert.ok(picker);
  });

  test("the demo accounts show in the table", async () => {
    // Home is the worklist; the whole book is under Accounts.
    await (await find(driver, "nav-accounts")).click();
    const count = await find(driver, "account-count");
    await eventually(async () => (await count.getText()) === `${DEMO_ACCOUNTS.toLocaleString("en-US")} accounts`, "count did not show 2,500 accounts");
    const names = await eventually(async () => {
      const n = await texts(driver, "account-name");
      return n.length >= 10 ? n : null;
    }, "rows did not render");
    assert.ok(names.every((n) => n.trim().length > 0));
    await screenshot(driver, "02-accounts");
    // At the 1440 px window every cell but a long name shows whole: no "▼ …", "10 o…"
    // or "in 291 d…".
    const cells = () =>
      driver.executeScript(`
        const heads = [...document.querySelectorAll('.table-head [role=columnheader]')];
        const cut = [];
        for (const row of document.querySelectorAll('[data-testid=account-row]')) {
          [...row.children].forEach((cell, i) => {
            if (i > 0 && cell.offsetParent !== null && cell.scrollWidth > cell.clientWidth + 1) cut.push(heads[i].textContent.trim() + ": " + cell.textContent.trim());
          });
        }
        return { cut, shown: heads.filter((h) => h.offsetParent !== null).map((h) => h.textContent.trim()), width: window.innerWidth };`);
    const wide = await cells();
    assert.deepEqual(wide.cut, [], "cells cut short in the accounts table");
    assert.ok(wide.shown.some((h) => /segment/i.test(h)), `columns at ${wide.width} px: ${wide.shown}`);
    // A 1366 px laptop: the segment column gives way rather than every cell being cut.
    await driver.manage().window().setRect({ width: 1366, height: 900 });
    const narrow = await eventually(async () => {
      const c = await cells();
      return c.width < 1400 ? c : null;
    }, "the window did not narrow");
    assert.ok(!narrow.shown.some((h) => /segment/i.test(h)), `columns at ${narrow.width} px: ${narrow.shown}`);
    assert.deepEqual(narrow.cut, [], `cells cut short at ${narrow.width} px`);
    await screenshot(driver, "02b-accounts-1366");
    await driver.manage().window().setRect({ width: 1440, height: 900 });
    await eventually(async () => (await cells()).width >= 1400, "the window did not widen again");
  });

  test("sorting by name orders the rows alphabetically", async () => {
    await (await find(driver, "sort-name")).click();
    const names = await eventually(async () => {
      const n = await texts(driver, "account-name");
      const sorted = [...n].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" }));
      return n.length >= 10 && n.join("|") === sorted.join("|") ? n : null;
    }, "rows are not sorted by name");
    assert.ok(names.length >= 10);
  });

  test("search narrows the table", async () => {
    const first = (await texts(driver, "account-name"))[0];
    const term = first.split(" ")[0];
    const search = await find(driver, "account-search");
    await search.sendKeys(term);
    const count = await find(driver, "account-count");
    await eventually(async () => {
      const shown = Number((await count.getText()).replace(/[^0-9]/g, ""));
      return shown > 0 && shown < DEMO_ACCOUNTS;
    }, `searching "${term}" did not narrow the count`);
    const names = await eventually(async () => {
      const n = await texts(driver, "account-name");
      return n.length > 0 && n.every((x) => x.toLowerCase().includes(term.toLowerCase())) ? n : null;
    }, `rows do not all match "${term}"`);
    assert.ok(names.length > 0);
    await screenshot(driver, "03-search");
  });

  test("opening an account shows its page and usage chart", async () => {
    const name = (await texts(driver, "account-name"))[0];
    const row = await driver.findElement(By.xpath(`//*[@data-testid="account-row"][.//*[@data-testid="account-name" and contains(., ${JSON.stringify(name)})]]`));
    await row.click();
    const title = await find(driver, "account-title");
    assert.equal((await title.getText()).replace("★", "").trim(), name);
    await find(driver, "usage-chart");
    const lines = await eventually(async () => {
      const l = await driver.findElements(By.css('[data-testid="usage-chart"] .recharts-line path'));
      return l.length >= 2 ? l : null;
    }, "the usage chart drew no lines");
    assert.ok(lines.length >= 2);
    await atLeast(driver, By.css('[data-testid="contacts"] li'), 2, "sponsor and champion at least");
    assert.match(await (await find(driver, "account-arr")).getText(), /\d/);
    // Health explains itself: a score with its band, the measures behind it, severity.
    const score = await find(driver, "health-score");
    await eventually(async () => /\d+\s*(Red|Yellow|Green)/.test(await score.getText()), "no health score with a band");
    await atLeast(driver, By.css('[data-testid="measures"] tbody tr'), 5, "expected the scorecard's measures");
    const severity = await (await find(driver, "severity-card")).getText();
    assert.match(severity, /(high|medium|low)/i);
    // The severity shown and its formula's result are the same whole number.
    const shown = severity.match(/(\d+)\s*\/ 100 · risk \d+ × impact [\d.]+ = (\d+)/);
    assert.ok(shown, severity);
    assert.equal(shown[1], shown[2], severity);
    // The health card says which day the score is from.
    assert.match(await (await find(driver, "health-card")).getText(), /scored [A-Z][a-z]{2} \d{1,2}, \d{4}/);
    // Each trend says something, "—" when there is no score from that far back yet.
    const trends = (await texts(driver, "health-trend")).map((t) => t.trim());
    assert.equal(trends.length, 3, `${trends}`);
    assert.ok(trends.every((t) => /^\d+ days (▲ \d+|▼ \d+|=|—)$/.test(t)), `${trends}`);
    await screenshot(driver, "04-account");
    await (await find(driver, "back-to-accounts")).click();
    const search = await find(driver, "account-search");
    assert.ok((await search.getAttribute("value")).length > 0, "search is kept when coming back");
    await search.sendKeys(Key.chord(Key.CONTROL, "a"), Key.BACK_SPACE);
  });

  test("a CSM overrides a measure with a comment and the score follows", async () => {
    await openFirstAccount();
    const overrideButtons = await atLeast(driver, By.css('[data-testid^="override-"]'), 1, "no measure to override");
    await overrideButtons[0].click();
    await find(driver, "override-dialog");
    const save = await find(driver, "override-save");
    assert.equal(await save.isEnabled(), false, "saving needs a comment");
    const score = await find(driver, "override-score");
    await score.sendKeys(Key.chord(Key.CONTROL, "a"), Key.BACK_SPACE, "5");
    await (await find(driver, "override-comment")).sendKeys("Customer told us they are evaluating a competitor");
    await save.click();
    await eventually(async () => (await driver.findElements(byTestId("override-dialog"))).length === 0, "dialog did not close");
    const table = await find(driver, "measures");
    await eventually(async () => (await table.getText()).includes("evaluating a competitor"), "the override is not shown on the measure");
    assert.match(await table.getText(), /manual/);
    await screenshot(driver, "05-override");
    await (await find(driver, "back-to-accounts")).click();
    await find(driver, "account-search");
  });

  test("logging a detractor NPS response re-scores the account at once", async () => {
    await openFirstAccount();
    await (await find(driver, "log-nps")).click();
    await (await find(driver, "nps-score")).findElement(By.css('option[value="1"]')).click();
    await (await find(driver, "nps-comment")).sendKeys("Reports broke after the upgrade");
    await (await find(driver, "nps-save")).click();
    const signals = await find(driver, "signals");
    await eventually(async () => /NPS detractor[\s\S]*Reports broke after the upgrade/.test(await signals.getText()), "no detractor signal with the comment");
    const raw = await driver.findElement(By.xpath(`//*[@data-testid="measures"]//tr[td[1][contains(., "NPS (latest)")]]/td[2]`));
    assert.equal((await raw.getText()).trim(), "1");
    await screenshot(driver, "05b-nps-logged");
    await (await find(driver, "back-to-accounts")).click();
    await find(driver, "account-search");
  });

  test("rules turned risk into CTAs that explain themselves, and a CTA closes with an outcome", async () => {
    // The most severe account first.
    await (await find(driver, "sort-severity")).click();
    await (await find(driver, "sort-severity")).click();
    await eventually(async () => (await (await find(driver, "sort-severity")).getAttribute("aria-sort")) === "descending", "not sorted by severity");
    await openFirstAccount();
    const card = await find(driver, "ctas-card");
    const ctas = await eventually(async () => {
      const list = await card.findElements(byTestId("cta"));
      return list.length > 0 ? list : null;
    }, "the most severe account has no CTA");
    const source = await ctas[0].findElement(byTestId("cta-source"));
    assert.match(await source.getText(), /Created by rule “.+” on .+ because .+/);
    // A weekly risk update and a flag stay on the CTA.
    await (await ctas[0].findElement(byTestId("cta-add-update"))).click();
    await (await card.findElement(byTestId("update-background"))).sendKeys("Usage fell after their reorg");
    await (await card.findElement(byTestId("update-next"))).sendKeys("Meet the new ops lead on Friday");
    await (await card.findElement(byTestId("update-save"))).click();
    // The demo's CTAs may carry earlier updates: wait for ours to become the latest.
    await eventually(async () => {
      const latest = (await card.findElements(byTestId("cta-latest-update")))[0];
      return latest && /Next steps: Meet the new ops lead on Friday/.test(await latest.getText());
    }, "the update is not the latest shown");
    const flag = (await card.findElements(byTestId("cta-flag")))[0];
    await flag.click();
    await eventually(async () => (await (await card.findElements(byTestId("cta-flag")))[0].getAttribute("aria-pressed")) === "true", "not flagged");
    await screenshot(driver, "05c-ctas");
    const before = (await card.findElements(byTestId("cta"))).length;
    const first = (await card.findElements(byTestId("cta")))[0];
    await (await first.findElement(byTestId("cta-close"))).click();
    await (await card.findElement(byTestId("cta-outcome"))).findElement(By.css('option[value="saved"]')).click();
    await (await card.findElement(byTestId("cta-close-confirm"))).click();
    await eventually(async () => (await card.findElements(byTestId("cta"))).length === before - 1, "the CTA did not close");
    assert.match(await card.getText(), /\(saved\)/);
    await (await find(driver, "back-to-accounts")).click();
    await find(driver, "account-search");
  });

  test("the user can change who they are in Settings", async () => {
    await (await find(driver, "nav-settings")).click();
    const select = await find(driver, "settings-user");
    const options = await eventually(async () => {
      const o = await select.findElements(By.css("option"));
      return o.length > 1 ? o : null;
    }, "no people to choose from");
    const target = options[options.length - 1];
    const label = (await target.getText()).split(" — ")[0];
    await target.click();
    await eventually(async () => (await (await find(driver, "current-user")).getText()).includes(label), "header did not follow the new user");
    // The store's size comes from the store itself.
    assert.match(await (await find(driver, "store-size")).getText(), /^\d+(\.\d+)? (KB|MB|GB)$/);
    await screenshot(driver, "06-settings");
  });

  test("a scorecard edit is validated before it is saved", async () => {
    await (await find(driver, "settings-tab-scorecards")).click();
    await find(driver, "scorecard-form");
    const weight = await find(driver, "weight-seat_utilization");
    const retype = async (input, text) => input.sendKeys(Key.END, ...Array(8).fill(Key.BACK_SPACE), text);
    await retype(weight, "0");
    assert.equal(await weight.getAttribute("value"), "0");
    await (await find(driver, "scorecard-save")).click();
    const problem = await find(driver, "scorecard-problem");
    assert.match(await problem.getText(), /Seat utilization\)\.weight/);
    await screenshot(driver, "07-scorecard-invalid");
    await retype(weight, "25");
    await (await find(driver, "scorecard-save")).click();
    const form = await find(driver, "scorecard-form");
    await eventually(async () => /Saved as version 2/.test(await form.getText()), "the scorecard was not saved");
  });

  test("severity cut-offs are checked before they are saved", async () => {
    await (await find(driver, "settings-tab-signals")).click();
    const high = await find(driver, "severity-high_at");
    const retype = async (input, text) => input.sendKeys(Key.END, ...Array(8).fill(Key.BACK_SPACE), text);
    await retype(high, "10");
    await (await find(driver, "severity-save")).click();
    const message = await find(driver, "severity-message");
    assert.match(await message.getText(), /cut-offs: need 0 < medium \(25\) < high \(10\)/);
    await retype(high, "50");
    await (await find(driver, "severity-save")).click();
    await eventually(async () => /Saved/.test(await (await find(driver, "severity-message")).getText()), "not saved");
  });

  test("a full recompute shows progress and what it did", async () => {
    await (await find(driver, "settings-tab-recompute")).click();
    // The panel's text grows when the last scored day arrives, moving the button: click
    // once the layout has settled, or the click can land where the button was.
    await eventually(async () => /Last full day scored/.test(await (await find(driver, "recompute-panel")).getText()), "the last scored day did not show");
    await (await find(driver, "recompute-all")).click();
    const result = await find(driver, "recompute-result", 60_000);
    assert.match(await result.getText(), /Scored 2,500 of 2,500 accounts/);
  });

  test("an error from the Rust side is shown to the user", async () => {
    await (await find(driver, "nav-accounts")).click();
    const search = await find(driver, "account-search");
    await search.sendKeys("x".repeat(201));
    const banner = await find(driver, "error-banner");
    assert.match(await banner.getText(), /Invalid search: is longer than 200 characters/);
  });
});
