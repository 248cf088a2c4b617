// report.html in headless Chromium: every media and subtitle source resolves, a player plays and shows its
// subtitle, the filters and the sort change the rows shown. Run by tests/test_report_html.py.
// args: { url, playSelector, timeoutMs }.
"use strict";

require("./chromium").main(async ({ page, args, note }) => {
  await page.goto(args.url, { waitUntil: "load" });
  const sources = await page.evaluate(async () => {
    const media = Array.from(document.querySelectorAll("audio, video"));
    const tracks = Array.from(document.querySelectorAll("track"));
    const settled = (m) => m.readyState >= 1 || m.error !== null;
    const trackSettled = (t) => t.readyState >= 2;
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && !(media.every(settled) && tracks.every(trackSettled))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      media: media.map((m) => ({ tag: m.tagName.toLowerCase(), src: m.getAttribute("src"), url: m.currentSrc,
                                 readyState: m.readyState, error: m.error && m.error.code,
                                 duration: m.duration })),
      tracks: tracks.map((t) => ({ file: t.dataset.file || t.getAttribute("src"), url: t.src.slice(0, 60),
                                   readyState: t.readyState,
                                   cues: t.track.cues ? t.track.cues.length : null, lang: t.srclang })),
    };
  });
  note({ media: sources.media.length, tracks: sources.tracks.length });
  const played = await page.evaluate(async (selector) => {
    const el = document.querySelector(selector);
    const player = el.closest(".player");
    await el.play();
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && el.currentTime < 1.0) await new Promise((r) => setTimeout(r, 50));
    const cue = player.querySelector(".cue");
    const result = { currentTime: el.currentTime, paused: el.paused, cue: cue ? cue.textContent : null };
    el.pause();
    return result;
  }, args.playSelector);
  const rows = await page.evaluate(async () => {
    const visible = () => Array.from(document.querySelectorAll("section.clip")).filter(
      (s) => !s.classList.contains("hidden"));
    const set = (id, value) => {
      const el = document.getElementById(id);
      if (el.type === "checkbox") el.checked = value; else el.value = value;
      el.dispatchEvent(new Event("change"));
    };
    const out = { all: visible().length, shown: document.getElementById("shown").textContent, byStatus: {} };
    for (const opt of document.querySelectorAll("#filter-status option")) {
      if (!opt.value) continue;
      set("filter-status", opt.value);
      out.byStatus[opt.value] = visible().map((s) => s.dataset.status);
    }
    set("filter-status", "");
    set("filter-bleu", "50");
    out.bleuAtLeast50 = visible().map((s) => Number(s.dataset.bleu));
    set("filter-bleu", "");
    set("filter-similarity", "0.99");
    out.similarityAtLeast099 = visible().length;
    set("filter-similarity", "");
    set("filter-overrun", true);
    out.overrunning = visible().map((s) => Number(s.dataset.overrun));
    set("filter-overrun", false);
    set("sort", "bleu:desc");
    out.sortedBleu = visible().map((s) => (s.dataset.bleu === "" ? null : Number(s.dataset.bleu)));
    set("sort", "order:asc");
    out.afterReset = visible().length;
    return out;
  });
  return { sources, played, rows };
});
