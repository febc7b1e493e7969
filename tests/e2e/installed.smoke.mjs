// The installed app, as a CSM gets it from the .deb: it starts, its window is Riskdesk,
// and the worklist shows. scripts/package.sh --check points RISKDESK_APP at the
// installed binary and runs this.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { atLeast, byTestId, find, launch, pickUser, screenshot } from "./harness.mjs";

describe("the installed app", () => {
  let app;
  let driver;

  before(async () => {
    assert.ok(process.env.RISKDESK_APP, "RISKDESK_APP names the installed binary");
    app = await launch();
    driver = app.driver;
  });

  after(async () => {
    await app?.stop();
  });

  test("starts, is called Riskdesk and shows the worklist", async () => {
    assert.equal(await driver.getTitle(), "Riskdesk");
    await pickUser(driver, "Manager");
    await find(driver, "nav-worklist");
    await atLeast(driver, byTestId("worklist-row"), 5, "the worklist shows no accounts");
    await screenshot(driver, "installed-worklist");
  });
});
