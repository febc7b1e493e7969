// Sync from the user's side: a CSM connects to a real riskdesk-server from Settings › Sync,
// edits offline-style (the change waits as pending), syncs, and the status bar says so.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { byTestId, eventually, find, launch, repoRoot, screenshot, serverBinary, setValue } from "./harness.mjs";

/** The Tauri CLI's signer (from npm, in ui/node_modules): the key pair a release is signed with. */
const tauriCli = path.join(repoRoot, "ui", "node_modules", ".bin", process.platform === "win32" ? "tauri.cmd" : "tauri");
function signer(args) {
  const run = spawnSync(tauriCli, ["signer", ...args], { env: { ...process.env, TAURI_SIGNING_PRIVATE_KEY_PASSWORD: "" }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
}
function keyPair(dir, name) {
  const key = path.join(dir, name);
  signer(["generate", "--ci", "-p", "", "-w", key]);
  return { key, pub: readFileSync(`${key}.pub`, "utf8").trim() };
}

const PASSWORD = "correct horse battery";

describe("Sync", () => {
  let app;
  let driver;
  let server;
  let serverDir;
  let base;

  let keys;
  let releaseDir;

  before(async () => {
    serverDir = mkdtempSync(path.join(tmpdir(), "riskdesk-server-"));
    // The team's release key: the app (a debug build) is told to trust it.
    releaseDir = mkdtempSync(path.join(tmpdir(), "riskdesk-release-"));
    keys = keyPair(releaseDir, "team.key");
    process.env.RISKDESK_UPDATER_PUBKEY = keys.pub;
    // A file share that stops sending is given up on after 2 s (30 s in a release build).
    process.env.RISKDESK_UPDATE_STALL_SECS = "2";
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
    // The picker covers the window until it has closed: the first click must wait for that.
    await eventually(async () => (await driver.findElements(byTestId("user-picker"))).length === 0, "the picker did not close");
  });

  after(async () => {
    await app?.stop();
    server?.kill("SIGKILL");
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(releaseDir, { recursive: true, force: true });
  });

  test("a CSM connects, a change waits as pending, and Sync now sends it", async () => {
    assert.match(await (await find(driver, "sync-status")).getText(), /Not syncing/);
    await (await find(driver, "sync-status")).click();
    await (await find(driver, "settings-tab-sync")).click();
    // This store holds the demo book: the form says what connecting it would mean.
    assert.match(await (await find(driver, "sync-demo-warning")).getText(), /holds the demo book/);
    await screenshot(driver, "49-sync-demo-warning");
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

  test("an update published on the team's server is found and verified; a bad signature is refused", async () => {
    // The bundles, served as a team's file share would.
    // A bundle under /stalled/ starts and then stops coming, as a share that hangs would.
    const stalled = [];
    const files = http.createServer((req, res) => {
      const file = path.join(releaseDir, path.basename(req.url ?? ""));
      if (!existsSync(file)) res.writeHead(404).end();
      else if (req.url?.startsWith("/stalled/")) {
        const bytes = readFileSync(file);
        res.writeHead(200, { "Content-Length": bytes.length });
        res.write(bytes.subarray(0, 1024));
        stalled.push(res);
      } else res.end(readFileSync(file));
    });
    await new Promise((resolve) => files.listen(0, "127.0.0.1", resolve));
    const filesBase = `http://127.0.0.1:${files.address().port}`;
    const publish = (version, key, share = "") => {
      const bundle = path.join(releaseDir, `riskdesk-${version}.tar.gz`);
      writeFileSync(bundle, randomBytes(64 * 1024));
      signer(["sign", "-f", key, "-p", "", bundle]);
      const add = spawnSync(serverBinary(), ["release", "add", "--data-dir", serverDir, "--target", "linux", "--arch", process.arch === "arm64" ? "aarch64" : "x86_64", "--version", version, "--url", `${filesBase}${share}/riskdesk-${version}.tar.gz`, "--signature-file", `${bundle}.sig`, "--notes", `What is new in ${version}`], { env: { ...process.env, RUST_LOG: "warn" }, encoding: "utf8" });
      assert.equal(add.status, 0, add.stderr);
    };
    // What the last check shows: its result, or the problem it met (a failed check shows
    // no result); a wait that runs out names which, so a failure says why.
    const updateShows = async (pattern) => {
      for (const id of ["update-result", "update-problem"]) {
        const [shown] = await driver.findElements(byTestId(id));
        if (!shown) continue;
        const text = `${id}: ${await shown.getText()}`;
        if (pattern.test(text)) return text;
        throw new Error(text);
      }
      throw new Error("nothing shown yet");
    };
    try {
      await (await find(driver, "nav-settings")).click();
      await (await find(driver, "settings-tab-you")).click();
      await (await find(driver, "update-check")).click();
      await eventually(() => updateShows(/^update-result: .*is up to date/), "no 'up to date' before anything is published");

      publish("9.9.0", keys.key);
      await (await find(driver, "update-check")).click();
      await eventually(() => updateShows(/^update-result: Riskdesk 9\.9\.0 is available .*signature checks out/), "the signed update was not offered");
      await find(driver, "update-install");
      await screenshot(driver, "52-update-found");

      // Signed with a key that is not the team's: refused, nothing offered.
      const stranger = keyPair(releaseDir, "stranger.key");
      publish("9.9.1", stranger.key);
      await (await find(driver, "update-check")).click();
      await eventually(async () => /Riskdesk 9\.9\.1 was refused/.test(await (await find(driver, "update-problem")).getText()), "a bundle with a bad signature was not refused");
      assert.equal((await driver.findElements({ css: '[data-testid="update-install"]' })).length, 0);

      // A share that stops sending mid-download: the check ends, saying where it stalled,
      // instead of staying at "Checking…"; it is not called a bad signature.
      publish("9.9.2", keys.key, "/stalled");
      await (await find(driver, "update-check")).click();
      await eventually(() => updateShows(/^update-problem: Riskdesk 9\.9\.2 could not be downloaded from http:\/\/127\.0\.0\.1:\d+\/stalled\//), "a stalled download did not end the check");
      const stalledProblem = await (await find(driver, "update-problem")).getText();
      assert.match(stalledProblem, /timed out/);
      assert.doesNotMatch(stalledProblem, /refused|local database/);
      assert.equal(await (await find(driver, "update-check")).getText(), "Check for updates");
      await screenshot(driver, "53-update-stalled");
      assert.equal((await driver.findElements({ css: '[data-testid="update-install"]' })).length, 0);
      // Back where the next test starts.
      await (await find(driver, "settings-tab-sync")).click();
    } finally {
      for (const res of stalled) res.destroy();
      files.close();
    }
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
