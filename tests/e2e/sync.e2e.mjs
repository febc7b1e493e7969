// Sync from the user's side: a CSM connects to a real riskdesk-server from Settings › Sync,
// edits offline-style (the change waits as pending), syncs, and the status bar says so.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { eventually, find, launch, screenshot, serverBinary, setValue } from "./harness.mjs";

const PASSWORD = "correct horse battery";

describe("Sync", () => {
  let app;
  let driver;
  let server;
  let serverDir;
  let base;

  before(async () => {
    serverDir = mkdtempSync(path.join(tmpdir(), "riskdesk-server-"));
    const add = spawnSync(serverBinary(), ["user", "add", "--data-dir", serverDir, "--email", "csm@acme.example", "--name", "Casey CSM", "--role", "csm", "--team", "Enterprise"], {
      input: `${PASSWORD}\n`,
      env: { ...process.env, RUST_LOG: "warn" },
    });
    assert.equal(add.status, 0, String(add.stderr));
    server = spawn(serverBinary(), ["serve", "--bind", "127.0.0.1:0", "--data-dir", serverDir], { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, RUST_LOG: "warn" } });
    base = await new Promise((resolve, reject) => {
      createInterface({ input: server.stdout }).once("line", (l) => resolve(l.replace("listening on ", "").trim()));
      server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    app = await launch();
    driver = app.driver;
    await (await find(driver, "pick-user")).click();
  });

  after(async () => {
    await app?.stop();
    server?.kill("SIGKILL");
    rmSync(serverDir, { recursive: true, force: true });
  });

  test("a CSM connects, a change waits as pending, and Sync now sends it", async () => {
    assert.match(await (await find(driver, "sync-status")).getText(), /Not syncing/);
    await (await find(driver, "sync-status")).click();
    await (await find(driver, "settings-tab-sync")).click();
    await setValue(driver, await find(driver, "sync-url"), base);
    await setValue(driver, await find(driver, "sync-email"), "csm@acme.example");
    await setValue(driver, await find(driver, "sync-password"), PASSWORD);
    await (await find(driver, "sync-connect")).click();
    await eventually(async () => /Sent 0 changes, received 0 new/.test(await (await find(driver, "sync-report")).getText()), "the first sync did not finish");
    await eventually(async () => /Synced just now/.test(await (await find(driver, "sync-status")).getText()), "the status bar does not say synced");

    // Snooze a CTA in the Cockpit: its changed fields wait to be sent.
    await (await find(driver, "nav-cockpit")).click();
    await (await find(driver, "cockpit-row")).click();
    await (await find(driver, "cta-snooze")).click();
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    await setValue(driver, await find(driver, "snooze-until"), until);
    await setValue(driver, await find(driver, "snooze-reason"), "Champion on leave");
    await (await find(driver, "snooze-save")).click();
    await eventually(async () => /pending/.test(await (await find(driver, "sync-status")).getText()), "the snooze is not pending", 20_000);

    await (await find(driver, "sync-status")).click();
    await (await find(driver, "settings-tab-sync")).click();
    await (await find(driver, "sync-now")).click();
    await eventually(async () => /Sent [1-9]/.test(await (await find(driver, "sync-report")).getText()), "Sync now sent nothing");
    assert.equal(await (await find(driver, "sync-pending")).getText(), "0");
    await screenshot(driver, "50-sync-settings");
  });

  test("signed out, an invited manager chooses a password with the code and syncs", async () => {
    const invite = spawnSync(serverBinary(), ["user", "invite", "--data-dir", serverDir, "--email", "mgr@acme.example", "--name", "Morgan Manager", "--role", "manager", "--team", "Enterprise"], {
      env: { ...process.env, RUST_LOG: "warn" },
    });
    assert.equal(invite.status, 0, String(invite.stderr));
    const code = String(invite.stdout).trim().split("\n").pop().trim();
    assert.match(code, /^[0-9a-f]{32}$/);

    await (await find(driver, "sync-signout")).click();
    await (await find(driver, "sync-mode-invite")).click();
    await setValue(driver, await find(driver, "sync-url"), base);
    await setValue(driver, await find(driver, "sync-code"), code);
    await setValue(driver, await find(driver, "sync-password"), "morgan's own password");
    await (await find(driver, "sync-connect")).click();
    await eventually(async () => /Sent \d+ changes/.test(await (await find(driver, "sync-report")).getText()), "the invite did not connect");
    await eventually(async () => /mgr@acme.example/.test(await (await find(driver, "sync-settings")).getText()), "not signed in as the manager");

    // The code is spent: the manager now signs in with the password chosen.
    const reuse = await fetch(`${base}/v1/invites/accept`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, password: "another long password" }),
    });
    assert.equal(reuse.status, 401);

    await setValue(driver, await find(driver, "sync-interval"), "300");
    await eventually(async () => (await (await find(driver, "sync-interval")).getAttribute("value")) === "300", "the interval did not change");
    await screenshot(driver, "51-sync-invite");
  });
});
