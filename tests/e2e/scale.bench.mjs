// How the Accounts table feels on a large store, measured in the real app: not a test,
// a table of timings. Make the store first, then point this at its folder:
//   riskdesk demo --accounts 100000 --db /tmp/rd100k/riskdesk.db
//   RISKDESK_SCALE_DIR=/tmp/rd100k xvfb-run -a node scale.bench.mjs
import { byTestId, eventually, find, launch, texts } from "./harness.mjs";

const dir = process.env.RISKDESK_SCALE_DIR;
if (!dir) {
  console.error("Set RISKDESK_SCALE_DIR to a folder holding riskdesk.db");
  process.exit(2);
}

const rows = [];
const time = async (what, action, done) => {
  const started = performance.now();
  await action();
  await eventually(done, `${what} never finished`, 30_000);
  rows.push([what, performance.now() - started, null]);
};

const started = performance.now();
const app = await launch(dir);
const { driver } = app;
try {
  // A store nobody has used yet asks who the user is first.
  await eventually(async () => {
    const pickers = await driver.findElements(byTestId("pick-user"));
    if (pickers.length) await pickers[0].click();
    return (await driver.findElements(byTestId("current-user"))).length > 0;
  }, "neither the user picker nor the current user showed");
  await eventually(async () => (await texts(driver, "account-name")).length > 5, "no rows");
  rows.push(["launch to first rows (includes WebDriver start)", performance.now() - started, null]);
  const count = await (await find(driver, "account-count")).getText();

  const body = await find(driver, "accounts-table");
  const loadedAt = async () => {
    const loading = await driver.findElements(byTestId("account-row-loading"));
    return loading.length === 0 && (await texts(driver, "account-name")).length > 5;
  };
  await time("jump to the middle of the table, rows shown", () => driver.executeScript("arguments[0].scrollTop = arguments[0].scrollHeight / 2", body), loadedAt);
  await time("jump to the end, rows shown", () => driver.executeScript("arguments[0].scrollTop = arguments[0].scrollHeight", body), loadedAt);

  // Frame times, and the script time inside each frame (what the app itself costs),
  // for: nothing; a full-window repaint with no app work (the renderer's floor: under
  // Xvfb WebKitGTK paints in software); steady scrolling, 20 rows per frame.
  const frames = (work) =>
    driver.executeAsyncScript(
      `const done = arguments[arguments.length - 1];
       const el = arguments[0];
       const frame = []; const script = [];
       let last = performance.now(); let step = 0;
       function tick(now) {
         frame.push(now - last); last = now;
         const t0 = performance.now();
         ${work}
         document.body.getBoundingClientRect();
         script.push(performance.now() - t0);
         if (++step < 80) requestAnimationFrame(tick);
         else { const med = (a) => a.slice(1).sort((x, y) => x - y)[Math.floor(a.length / 2)];
                const p95 = (a) => a.slice(1).sort((x, y) => x - y)[Math.floor(a.length * 0.95)];
                done([med(frame), p95(frame), med(script), p95(script)]); }
       }
       requestAnimationFrame(tick);`,
      body,
    );
  const report = (label, [frame, frame95, script, script95]) =>
    rows.push([`${label}: frame median / p95`, frame, frame95], [`${label}: app script median / p95`, script, script95]);
  report("idle", await frames(""));
  report("full repaint, no app work", await frames("document.body.style.background = step % 2 ? '#f4f5f7' : '#f4f5f6';"));
  await driver.executeScript("arguments[0].scrollTop = 0", body);
  report("scrolling 20 rows/frame", await frames("el.scrollTop += 800;"));

  const firstName = async () => (await texts(driver, "account-name"))[0];
  const before = await firstName();
  await time("sort by owner, first rows shown", async () => (await find(driver, "sort-owner")).click(), async () => (await loadedAt()) && (await firstName()) !== before);
  const countEl = await find(driver, "account-count");
  await time("type a search, count updated (includes 200 ms debounce)", async () => (await find(driver, "account-search")).sendKeys("harbor"), async () => (await countEl.getText()) !== count);

  console.log(`\nAccounts table on ${count}`);
  console.log("measure".padEnd(60), "ms".padStart(10), "p95 ms".padStart(10));
  for (const [what, ms, p95] of rows) console.log(what.padEnd(60), ms.toFixed(1).padStart(10), p95 === null ? "" : p95.toFixed(1).padStart(10));
} finally {
  await app.stop();
}
