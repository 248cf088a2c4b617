// Headless Debian Chromium driven by playwright-core, for baseline-dub's browser tests.
//
// A test script does:   require("./chromium").main(async ({ page, args, note }) => { ...; return result; });
// and is run by tests/support/browser_harness.py as `node SCRIPT ARGS_JSON`. `main` launches /usr/bin/chromium
// (or $CHROMIUM) headless with a fresh profile, records every console message, page error, failed request
// and HTTP response >= 400 of every page of the context, runs the callback, and prints one JSON line:
//   {"ok": true|false, "result": <callback's value>, "error": <stack or null>, "notes": [...],
//    "console": [{"type", "text", "url"}], "pageErrors": [...], "failedRequests": [...], "badResponses": [...]}
// then exits 0 (ok) or 1. `args.chromiumFlags` (a list) adds flags to FLAGS, e.g. an autoplay policy. `note(x)` adds x to "notes" (e.g. a measured figure) even if the callback fails.
// On SIGTERM (the harness's timeout) it closes Chromium, removes the profile and reports what it has.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function main(callback) {
  const args = JSON.parse(process.argv[2] || "{}");
  const record = { ok: false, result: null, error: null, notes: [], console: [], pageErrors: [],
                   failedRequests: [], badResponses: [] };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "baseline-dub-chromium-"));
  const launching = chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS.concat(args.chromiumFlags || []),
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
    handleSIGTERM: false,
  });
  let finished = false;
  const finish = async (code) => {
    if (finished) return;
    finished = true;
    const context = await launching.catch(() => null);
    if (context) await context.close().catch(() => {});
    try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
    process.stdout.write(JSON.stringify(record) + "\n", () => process.exit(code));
  };
  process.on("SIGTERM", () => { record.error = record.error || "terminated (timeout)"; finish(1); });
  try {
    const context = await launching;
    const watch = (page) => {
      page.on("console", (m) => record.console.push({ type: m.type(), text: m.text(), url: page.url() }));
      page.on("pageerror", (e) => record.pageErrors.push(String(e && e.stack || e)));
      page.on("requestfailed", (r) => record.failedRequests.push({ url: r.url(), error: r.failure() && r.failure().errorText }));
      page.on("response", (r) => { if (r.status() >= 400) record.badResponses.push({ url: r.url(), status: r.status() }); });
    };
    context.pages().forEach(watch);
    context.on("page", watch);
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(args.timeoutMs || 30000);
    record.result = await callback({ page, context, args, note: (x) => record.notes.push(x) });
    record.ok = true;
  } catch (e) {
    record.error = String(e && e.stack || e);
  }
  await finish(record.ok ? 0 : 1);
}

module.exports = { main, FLAGS };
