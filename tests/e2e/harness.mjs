// Starts the real Riskdesk binary under tauri-driver (WebKitWebDriver on Linux) with a
// fresh data directory, and hands the tests a WebDriver session on its window.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Builder, By, until } from "selenium-webdriver";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
export const artifacts = path.join(here, "artifacts");

export function appBinary() {
  const name = process.platform === "win32" ? "riskdesk-app.exe" : "riskdesk-app";
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
  const binary = process.env.RISKDESK_APP ?? path.join(target, "debug", name);
  if (!existsSync(binary)) throw new Error(`No app binary at ${binary}: build it first (cargo build -p riskdesk-app)`);
  return binary;
}

/** The sync server binary, built with the app (cargo build -p riskdesk-server). */
export function serverBinary() {
  const name = process.platform === "win32" ? "riskdesk-server.exe" : "riskdesk-server";
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
  const binary = path.join(target, "debug", name);
  if (!existsSync(binary)) throw new Error(`No server binary at ${binary}: build it first (cargo build -p riskdesk-server)`);
  return binary;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitForPort(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on ${port} within ${ms} ms`);
}

/** Every tauri-driver started, so that an exit for any reason takes their process groups
 * (tauri-driver, WebKitWebDriver and the app) with it. */
const running = new Set();
process.on("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Ends tauri-driver's whole process group: SIGTERM first, SIGKILL when it lingers. A
 * survivor would keep the test runner's output open and hang CI after the last test. */
async function endGroup(child) {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", resolve);
  });
  killGroup(child, "SIGTERM");
  const timer = new Promise((resolve) => setTimeout(resolve, 5_000, "timeout"));
  if ((await Promise.race([exited, timer])) === "timeout") killGroup(child, "SIGKILL");
  // The group's other members (WebKitWebDriver, the app) may outlive tauri-driver.
  killGroup(child, "SIGKILL");
  running.delete(child);
}

/** Launches the app on an empty store (or on `existingDataDir`, which is kept);
 * returns the driver and a stop function. A new store gets the demo book without asking
 * and the launch waits until the app is ready (the demo made, under load that can take a
 * while); `{ firstStart: "ask" }` leaves the first-start choice to the test. */
export async function launch(existingDataDir, { firstStart = "demo" } = {}) {
  const dataDir = existingDataDir ?? mkdtempSync(path.join(tmpdir(), "riskdesk-e2e-"));
  const port = await freePort();
  const nativePort = await freePort();
  mkdirSync(artifacts, { recursive: true });
  // The driver's and app's output goes to a log file, never to the runner's stdout: a
  // descendant holding that pipe open would keep CI waiting after the tests end.
  const log = openSync(path.join(artifacts, "tauri-driver.log"), "a");
  const driverProcess = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, RISKDESK_DATA_DIR: dataDir, RISKDESK_FIRST_START: firstStart === "demo" ? "demo" : "", RUST_LOG: process.env.RUST_LOG ?? "info,sqlx=warn" },
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  running.add(driverProcess);
  let driver;
  try {
    await waitForPort(port, 15_000);
    driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}/`)
      .withCapabilities({ browserName: "wry", "tauri:options": { application: appBinary() } })
      .build();
  } catch (e) {
    await endGroup(driverProcess);
    throw e;
  }
  if (firstStart === "demo") await find(driver, "nav-worklist", READY_MS);
  const stop = async () => {
    try {
      await Promise.race([driver.quit(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    } finally {
      await endGroup(driverProcess);
      if (!existingDataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  };
  return { driver, stop, dataDir };
}

/** How long a new store may take to be ready (the demo book made and scored). */
export const READY_MS = 240_000;

export const byTestId = (id) => By.css(`[data-testid="${id}"]`);

export async function find(driver, id, ms = 20_000) {
  return driver.wait(until.elementLocated(byTestId(id)), ms, `no element [data-testid=${id}] within ${ms} ms`);
}

/** Polls `check` until it returns a truthy value. */
export async function eventually(check, message, ms = 15_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${message} (last: ${last})`);
}

/** The elements `locator` finds once there are at least `n` of them: a list is counted
 * only after it has loaded, never right after its container appears. */
export async function atLeast(root, locator, n, message) {
  return eventually(async () => {
    const found = await root.findElements(locator);
    return found.length >= n ? found : null;
  }, message);
}

export async function screenshot(driver, name) {
  mkdirSync(artifacts, { recursive: true });
  // Let the last React commit reach the screen before WebKit snapshots it.
  await driver.sleep(300);
  writeFileSync(path.join(artifacts, `${name}.png`), await driver.takeScreenshot(), "base64");
}

/** The text of every element with this test id, in screen order (rows of a virtual
 * list are absolutely positioned, so DOM order is not screen order). */
export async function texts(driver, id) {
  return driver.executeScript(
    `return [...document.querySelectorAll('[data-testid="${id}"]')]
       .map((e) => [e.getBoundingClientRect().top, e.textContent.replace("★", "").trim()])
       .sort((a, b) => a[0] - b[0])
       .map((pair) => pair[1]);`,
  );
}

/** Sets an input's, select's or textarea's value the way a user's edit does, so React
 * sees it (WebKitWebDriver cannot type into date inputs). */
export async function setValue(driver, element, value) {
  await driver.executeScript(
    `const [el, v] = arguments;
     const proto = el.tagName === "SELECT" ? HTMLSelectElement.prototype : el.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
     Object.getOwnPropertyDescriptor(proto, "value").set.call(el, v);
     el.dispatchEvent(new Event(el.tagName === "SELECT" ? "change" : "input", { bubbles: true }));`,
    element,
    value,
  );
}

/** Presses keys with focus where it is (outside any input), as a keyboard user does. */
export async function press(driver, keys) {
  await driver.actions().sendKeys(keys).perform();
}

/** On first start, picks the person whose card mentions `text` (a title or team). */
export async function pickUser(driver, text) {
  await find(driver, "user-picker");
  const card = await eventually(async () => {
    for (const c of await driver.findElements(byTestId("pick-user"))) if ((await c.getAttribute("textContent")).includes(text)) return c;
    return null;
  }, `nobody in the picker is "${text}"`);
  await card.click();
  await eventually(async () => (await driver.findElements(byTestId("user-picker"))).length === 0, "the picker did not close");
}
