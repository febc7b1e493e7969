// Bringing real data in: a HubSpot export through the wizard, its accounts found in the
// Accounts table, a re-import that changes nothing, and a file with bad rows imported
// without them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { By } from "selenium-webdriver";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { byTestId, eventually, find, launch, pickUser, screenshot, setValue, texts } from "./harness.mjs";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/import");

describe("Import", () => {
  let app;
  let driver;
  let work;

  before(async () => {
    // The user's files live outside the repo; rejects are written beside them.
    work = mkdtempSync(path.join(tmpdir(), "riskdesk-import-"));
    for (const f of ["hubspot_companies.csv", "accounts_with_errors.csv"]) copyFileSync(path.join(fixtures, f), path.join(work, f));
    app = await launch();
    driver = app.driver;
    // A manager: they see and assign the accounts an import leaves unassigned.
    await pickUser(driver, "Hugo Yilmaz");
  });

  after(async () => {
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function chooseFile(name) {
    // Leaving and coming back starts the wizard over.
    await (await find(driver, "nav-accounts")).click();
    await (await find(driver, "nav-import")).click();
    await setValue(driver, await find(driver, "import-path"), path.join(work, name));
    await (await find(driver, "import-next")).click();
    await find(driver, "import-columns");
  }

  async function summary() {
    return (await find(driver, "import-summary")).getText();
  }

  test("a HubSpot export maps itself, is checked, imported, and its accounts are there", async () => {
    await chooseFile("hubspot_companies.csv");
    assert.match(await (await find(driver, "import-source")).getText(), /Recognised a HubSpot export/);
    // Its owners are HubSpot users, not Riskdesk ones: leave that column out.
    await setValue(driver, await find(driver, "map-select-owner"), "");
    await screenshot(driver, "40-import-columns");
    await (await find(driver, "import-check-rows")).click();
    await find(driver, "import-check");
    await eventually(async () => /3\s*rows read/.test(await summary()), "the check did not read 3 rows");
    assert.match(await summary(), /0\s*with errors/);
    assert.match(await summary(), /3\s*would be new/);
    await (await find(driver, "import-commit")).click();
    await find(driver, "import-done");
    assert.equal(await (await find(driver, "import-inserted")).getText(), "3");

    await (await find(driver, "import-open-accounts")).click();
    await setValue(driver, await find(driver, "account-search"), "Coho");
    await eventually(async () => (await texts(driver, "account-row")).some((t) => t.includes("Coho Winery")), "Coho Winery is not in Accounts");
    // An account with no usage, tickets or NPS yet has no score, not a perfect one.
    await eventually(
      async () => (await texts(driver, "account-row")).some((t) => t.includes("Coho Winery") && t.includes("no data") && t.includes("0 of ")),
      "an account without data shows a score",
    );
    await screenshot(driver, "41-imported-account");
  });

  test("a manager finds the accounts an import left unassigned and assigns them in one go", async () => {
    await (await find(driver, "nav-accounts")).click();
    await setValue(driver, await find(driver, "account-search"), "");
    await (await find(driver, "unassigned-filter")).click();
    // Wait for the cleared search to apply (it lands 200 ms after typing, and reloads the
    // list and its assign bar): every imported account is listed, not only Coho.
    await eventually(async () => {
      const names = await texts(driver, "account-name");
      return names.some((t) => t.includes("Coho Winery")) && names.some((t) => t.includes("Blue Yonder Analytics"));
    }, "the imported accounts are not listed as unassigned");
    // The bar re-renders while the list loads, so a choice or a click can land on a bar
    // about to be replaced: choose and click until the assignment shows, which is when the
    // loaded list no longer has Coho. Loaded means counted and its rows shown: a list
    // whose count has arrived but whose rows have not lists no one, Coho included.
    await eventually(
      async () => {
        const count = await (await find(driver, "account-count")).getText();
        const names = await texts(driver, "account-name");
        const loaded = count !== "Loading…" && (count.startsWith("0 ") || names.length > 0);
        const button = (await driver.findElements(byTestId("assign-accounts")))[0];
        const busy = button && (await button.getText()) === "Assigning…";
        if (loaded && !busy && !names.some((t) => t.includes("Coho Winery"))) return true;
        if (!button || busy) return false;
        const assignTo = await find(driver, "assign-to");
        const option = (await assignTo.findElements(By.xpath(`./option[.="Dmitri Patel"]`)))[0];
        if (!option) return false;
        await setValue(driver, assignTo, await option.getAttribute("value"));
        if (await button.isEnabled()) await button.click();
        return false;
      },
      "the accounts are still unassigned",
      30_000,
    );
    await (await find(driver, "unassigned-filter")).click();
    await setValue(driver, await find(driver, "account-search"), "Coho");
    await eventually(async () => (await texts(driver, "account-row")).some((t) => t.includes("Coho Winery") && t.includes("Dmitri Patel")), "Coho Winery is not Dmitri's");
    await screenshot(driver, "44-assigned");
  });

  test("owners given as Salesforce user ids are named in the check and mapped to people", async () => {
    writeFileSync(
      path.join(work, "sf_owner_ids.csv"),
      [
        '"Account ID","Account Name","OwnerId","ARR","Currency","Renewal Date"',
        '"0015g00000ZzOw1AAA","Owl Ridge Labs","0055g0000000002AAA","120000","USD","2027-09-30"',
        '"0015g00000ZzOw2AAA","Owl Creek Foods","0055g0000000002AAA","80000","USD","2027-10-31"',
        '"0015g00000ZzOw3AAA","Owl Bay Freight","0055g0000000003AAA","60000","USD","2027-11-30"',
      ].join("\r\n"),
    );
    await chooseFile("sf_owner_ids.csv");
    await (await find(driver, "import-check-rows")).click();
    const box = await find(driver, "unknown-owners");
    assert.match(await box.getText(), /3 accounts name 2 owners Riskdesk does not know/);
    const rows = await driver.findElements(By.css('[data-testid="unknown-owner"]'));
    assert.equal(rows.length, 2);
    assert.match(await rows[0].getText(), /0055g0000000002AAA\s*Salesforce user id/);
    // The first id is a demo person: map it; the other stays unassigned.
    await setValue(driver, await rows[0].findElement(By.css('[data-testid="owner-action"]')), "map");
    const person = await eventually(async () => {
      const select = await rows[0].findElement(By.css('[data-testid="owner-person"]'));
      const options = await select.findElements(By.css("option"));
      return options.length > 1 ? { select, value: await options[1].getAttribute("value"), label: await options[1].getText() } : null;
    }, "no people to map to");
    await setValue(driver, person.select, person.value);
    await screenshot(driver, "45-unknown-owners");
    await (await find(driver, "owners-apply")).click();
    // Checked again: one owner left, and the mapped accounts would be assigned.
    await eventually(async () => (await driver.findElements(By.css('[data-testid="unknown-owner"]'))).length === 1, "the mapped owner is still unknown");
    await (await find(driver, "import-commit")).click();
    await find(driver, "import-done");
    await (await find(driver, "nav-accounts")).click();
    await setValue(driver, await find(driver, "account-search"), "Owl");
    const name = person.label.split(" · ")[0];
    await eventually(async () => {
      const owners = await texts(driver, "account-owner");
      return owners.length === 3 && owners.filter((o) => o === name).length === 2;
    }, `two Owl accounts should belong to ${name}`);
    await setValue(driver, await find(driver, "account-search"), "");
  });

  test("Settings › People checks a CRM user export, then imports the team", async () => {
    const users = path.join(work, "users.csv");
    writeFileSync(users, "Id,Full Name,Email,Title,Role\n0055g0000000009AAA,Priya Natarajan,priya@acme.example,Senior CSM,CSM - Enterprise\n0055g0000000010AAA,,broken,,\n");
    await (await find(driver, "nav-settings")).click();
    await (await find(driver, "settings-tab-people")).click();
    await setValue(driver, await find(driver, "people-file"), users);
    await (await find(driver, "people-check")).click();
    await eventually(async () => /nothing written yet/.test(await (await find(driver, "people-report")).getText()), "the check did not report");
    assert.match(await (await find(driver, "people-report")).getText(), /line 3, email/);
    await (await find(driver, "people-import")).click();
    await eventually(async () => (await texts(driver, "person-row")).some((t) => t.includes("Priya Natarajan") && t.includes("0055g0000000009AAA")), "the imported person is not listed");
    await screenshot(driver, "43-people");
  });

  test("importing the same file again changes nothing", async () => {
    await chooseFile("hubspot_companies.csv");
    await setValue(driver, await find(driver, "map-select-owner"), "");
    await (await find(driver, "import-check-rows")).click();
    await find(driver, "import-check");
    await eventually(async () => /3\s*unchanged/.test(await summary()), "a re-import would change rows");
    assert.match(await summary(), /0\s*would be new/);
  });

  test("a file with bad rows shows each problem, and its valid rows import without them", async () => {
    await chooseFile("accounts_with_errors.csv");
    await (await find(driver, "import-check-rows")).click();
    const errors = await find(driver, "import-errors");
    const text = await errors.getText();
    assert.match(text, /'Galactic' is not a segment/);
    assert.match(text, /repeats the CRM id from line 2/);
    assert.match(await (await find(driver, "import-error-count")).getText(), /4 rows have 5 problems/);
    await screenshot(driver, "42-import-errors");
    await (await find(driver, "import-commit-valid")).click();
    await find(driver, "import-done");
    const rejects = path.join(work, "accounts_with_errors-rejects.csv");
    assert.match(await (await find(driver, "import-rejects")).getText(), /4 rows were not imported/);
    assert.ok(existsSync(rejects), "no rejects file");
    assert.match(readFileSync(rejects, "utf8"), /Galactic/);
    assert.match(await (await find(driver, "import-history")).getText(), /accounts_with_errors\.csv/);
  });
});
