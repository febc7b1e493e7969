// A new user's first minutes on a new store: the window shows the choice at once; an
// empty start makes them its admin and points them at importing people; the demo book is
// made with its progress on screen.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { READY_MS, eventually, find, launch, screenshot } from "./harness.mjs";

describe("First start", () => {
  let app;

  after(async () => {
    await app?.stop();
  });

  test("starting empty makes me the admin and leads to importing people", async () => {
    app = await launch(undefined, { firstStart: "ask" });
    const { driver } = app;
    await find(driver, "first-start");
    await screenshot(driver, "00-first-start-choice");
    await (await find(driver, "start-name")).sendKeys("Ana Ruiz");
    await (await find(driver, "start-email")).sendKeys("ana");
    await (await find(driver, "start-empty")).click();
    const error = await find(driver, "start-error");
    assert.match(await error.getText(), /email/);
    await (await find(driver, "start-email")).sendKeys("@acme.example");
    await (await find(driver, "start-empty")).click();
    const welcome = await find(driver, "welcome");
    assert.match(await welcome.getText(), /Welcome, Ana/);
    const me = await find(driver, "current-user");
    await eventually(async () => /Ana Ruiz/.test(await me.getText()) && /Admin/.test(await me.getText()), "the admin is not the current user");
    await find(driver, "import-path");
    await screenshot(driver, "00-started-empty");
    await (await find(driver, "welcome-people")).click();
    await find(driver, "people-settings");
    await app.stop();
    app = undefined;
  });

  test("exploring the demo shows progress, then the demo book", async () => {
    app = await launch(undefined, { firstStart: "ask" });
    const { driver } = app;
    await (await find(driver, "start-demo")).click();
    await find(driver, "startup-progress");
    await eventually(async () => /Step \d of 3/.test(await (await find(driver, "startup-progress")).getText()), "no step shown while the demo is made");
    await screenshot(driver, "00-demo-progress");
    await find(driver, "user-picker", READY_MS);
  });
});
