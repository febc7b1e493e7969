// The desktop conventions: `?` lists the shortcuts, the About box has the version and
// where the logs are (and the log is there), the window comes back the size it was left,
// and a second start of the same store brings the running window forward instead of
// opening the store twice.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { appBinary, eventually, find, launch, pickUser, screenshot } from "./harness.mjs";

const version = JSON.parse(readFileSync(new URL("../../tauri.conf.json", import.meta.url), "utf8")).version;

describe("Desktop conventions", () => {
  let app;
  let driver;
  let dataDir;

  before(async () => {
    // Kept across the app's restarts; removed at the end.
    dataDir = mkdtempSync(path.join(tmpdir(), "riskdesk-e2e-desktop-"));
    app = await launch(dataDir, {});
    driver = app.driver;
    await pickUser(driver, "Manager, Enterprise");
  });

  after(async () => {
    await app?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("? lists the keyboard shortcuts; Esc closes them", async () => {
    await (await find(driver, "nav-worklist")).click();
    await driver.actions().sendKeys("?").perform();
    const help = await find(driver, "help-overlay");
    assert.match(await help.getText(), /j \/ ↓\s*next CTA/);
    await screenshot(driver, "40-shortcuts");
    await driver.actions().sendKeys("\uE00C").perform();
    await eventually(async () => (await driver.findElements({ css: '[data-testid="help-overlay"]' })).length === 0, "the overlay did not close");
  });

  test("About shows the version and where the logs are, and the log is there", async () => {
    await (await find(driver, "brand")).click();
    const about = await find(driver, "about-box");
    assert.equal(await (await find(driver, "about-version")).getText(), version);
    const logDir = await (await find(driver, "about-log-dir")).getText();
    const log = await eventually(async () => {
      const file = existsSync(logDir) && readdirSync(logDir).find((f) => f.startsWith("riskdesk") && f.endsWith(".log"));
      return file && readFileSync(path.join(logDir, file), "utf8").includes(dataDir) ? file : null;
    }, `no log naming this store in ${logDir}`);
    assert.ok(log);
    await screenshot(driver, "41-about");
    await about.findElement({ xpath: ".//button[normalize-space()='Close']" }).click();
  });

  test("the window comes back the size it was left", async () => {
    await driver.manage().window().setRect({ width: 1180, height: 760 });
    const saved = path.join(dataDir, "window-state.json");
    await eventually(async () => existsSync(saved) && JSON.parse(readFileSync(saved, "utf8")).main?.width === 1180, "the window's size was not kept");
    await app.stop();
    app = await launch(dataDir, {});
    driver = app.driver;
    const rect = await eventually(async () => {
      const r = await driver.manage().window().getRect();
      return r.width === 1180 && r.height === 760 ? r : null;
    }, "the window did not come back at its size");
    assert.equal(rect.width, 1180);
  });

  test("a second start of the same store brings the running window forward and ends", async () => {
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "a session bus (scripts/e2e.sh runs the suite under dbus-run-session)");
    const second = spawn(appBinary(), [], { env: { ...process.env, RISKDESK_DATA_DIR: dataDir }, stdio: "ignore" });
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        second.kill("SIGKILL");
        reject(new Error("the second start kept running: the store is open twice"));
      }, 60_000);
      second.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    // The first is still there and answers.
    await find(driver, "nav-worklist");
  });
});
