// baseline-dub report.html: sorting and filtering of the clip rows, subtitles shown under the players.
// Inlined into the page at build time; plain JS, nothing fetched from outside, works from file:// and HTTP.
"use strict";

(function () {
  const clips = Array.from(document.querySelectorAll("section.clip"));
  const list = document.getElementById("clips");
  const shown = document.getElementById("shown");
  const controls = {
    status: document.getElementById("filter-status"),
    bleu: document.getElementById("filter-bleu"),
    similarity: document.getElementById("filter-similarity"),
    overrun: document.getElementById("filter-overrun"),
    sort: document.getElementById("sort"),
  };
  const num = (el, key) => {
    const v = el.dataset[key];
    return v === undefined || v === "" ? null : Number(v);
  };

  function apply() {
    const status = controls.status.value;
    const minBleu = controls.bleu.value === "" ? null : Number(controls.bleu.value);
    const minSim = controls.similarity.value === "" ? null : Number(controls.similarity.value);
    const overrunOnly = controls.overrun.checked;
    const [key, dir] = controls.sort.value.split(":");
    const sorted = clips.slice().sort((a, b) => {
      const x = num(a, key), y = num(b, key);
      if (x === y) return num(a, "order") - num(b, "order");
      if (x === null) return 1;  // clips without the measure last, either way
      if (y === null) return -1;
      return dir === "desc" ? y - x : x - y;
    });
    let count = 0;
    for (const el of sorted) {
      const bleu = num(el, "bleu"), sim = num(el, "similarity"), over = num(el, "overrun");
      const keep = (status === "" || el.dataset.status === status)
        && (minBleu === null || (bleu !== null && bleu >= minBleu))
        && (minSim === null || (sim !== null && sim >= minSim))
        && (!overrunOnly || (over !== null && over > 0));
      el.classList.toggle("hidden", !keep);
      count += keep ? 1 : 0;
      list.appendChild(el);
    }
    shown.textContent = `${count} of ${clips.length} clips shown`;
  }

  // Subtitles: from disk (file://) a page may not fetch its own files, so each track's WebVTT is also inlined
  // (a <script type="text/vtt">) and the track reads it from a data: URL; over HTTP the .vtt file is used.
  function subtitles() {
    for (const track of document.querySelectorAll("track[data-inline]")) {
      const inline = document.getElementById(track.dataset.inline);
      if (location.protocol === "file:" && inline) {
        track.dataset.file = track.getAttribute("src");  // the .vtt file itself, still linked for download
        track.src = "data:text/vtt;charset=utf-8," + encodeURIComponent(inline.textContent.trim() + "\n");
      }
      const media = track.parentElement;
      const cue = media.parentElement.querySelector(".cue[data-lang='" + track.srclang + "']");
      track.track.mode = media.tagName === "VIDEO" ? "showing" : "hidden";
      if (cue) {
        track.track.addEventListener("cuechange", () => {
          const active = Array.from(track.track.activeCues || []);
          cue.textContent = active.map((c) => c.text).join(" ");
        });
      }
    }
  }

  for (const el of Object.values(controls)) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  }
  subtitles();
  apply();
})();
