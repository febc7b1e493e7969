// A new user's first minutes on a new store: the window shows the choice at once; an
// empty start makes them its admin and points them at importing people; the demo book is
// made with its progress on screen.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { READY_MS, eventually, find, launch, screenshot } from "./harness.mjs";

describe("First start", () => {
  let app;

  // Each test's app stops when the test ends, failed or not: a failed test's app left
  // running kept the file's process alive until CI's time limit.
  afterEach(async () => {
    await app?.stop();
    app = undefined;
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
    // Starting empty creates the store and runs its first refresh before the welcome
    // shows: the same real work as a start, so the same bound as the demo's wait.
    const welcome = await find(driver, "welcome", READY_MS);
    assert.match(await welcome.getText(), /Welcome, Ana/);
    const me = await find(driver, "current-user");
    await eventually(async () => /Ana Ruiz/.test(await me.getText()) && /Admin/.test(await me.getText()), "the admin is not the current user");
    await find(driver, "import-path");
    await screenshot(driver, "00-started-empty");
    // Someone joining a team that already uses Riskdesk goes to Sync from here instead.
    await (await find(driver, "welcome-sync")).click();
    await find(driver, "sync-connect");
    await (await find(driver, "nav-import")).click();
    await (await find(driver, "welcome-people")).click();
    await find(driver, "people-settings");
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
