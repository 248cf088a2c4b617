// Walks a webMUSHRA test as a listener would: opens it, plays the reference and every condition of every
// MUSHRA page, sets each condition's slider to the score asked for, presses Next through the pages and
// "Send Results" on the finish page. Run by tests/test_webmushra_client.py through tests/support/browser_harness.py.
//
// args: {url, ratings: {trialId: {condition: score}}, playMs}
// result: {sampleRate, contextState, pages: [{type, id}], played: {trialId: {condition: {frames, rms}}},
//          stimulusRates: {trialId: rate of the decoded reference}, errors: webMUSHRA's own error list,
//          sendStatus}
"use strict";

require("./chromium").main(async ({ page, args, note }) => {
  const result = { pages: [], played: {}, stimulusRates: {}, errors: [] };
  const sent = page.waitForResponse((r) => r.url().endsWith("/service/write.php"), { timeout: 0 }).catch(() => null);
  await page.goto(args.url);
  // Every file loaded and decoded (webMUSHRA nulls each entry), or an error reported.
  await page.waitForFunction(() => window.errorHandler && (errorHandler.errorOccurred() ||
    (window.audioFileLoader && audioFileLoader.files.length > 0 && audioFileLoader.files.every((f) => f === null))));
  result.sampleRate = await page.evaluate(() => audioContext.sampleRate);
  note({ audioContextSampleRate: result.sampleRate });
  const errors = await page.evaluate(() => errorHandler.getErrors());
  if (errors.length) throw new Error("webMUSHRA reported errors on load: " + errors.join(" | "));

  const current = () => page.evaluate(() => {
    const p = pageManager.getCurrentPage();
    const type = p instanceof MushraPage ? "mushra" : p instanceof FinishPage ? "finish"
      : p instanceof GenericPage ? "generic" : "other";
    return { type, id: p.pageConfig ? p.pageConfig.id || null : null, index: pageManager.getPageIndex() };
  });
  for (let step = 0; step < 100; step++) {
    const info = await current();
    result.pages.push({ type: info.type, id: info.id });
    if (info.type === "finish") break;
    if (info.type === "mushra") await ratePage(page, info.id, args, result);
    await page.click("#__button_next");
    await page.waitForFunction((i) => pageManager.getPageIndex() !== i, info.index);
  }
  result.contextState = await page.evaluate(() => audioContext.state);
  await page.click("#send_results");
  const response = await sent;
  result.sendStatus = response ? response.status() : null;
  result.errors = await page.evaluate(() => errorHandler.getErrors());
  return result;
});

async function ratePage(page, trialId, args, result) {
  const wanted = args.ratings[trialId];
  if (!wanted) throw new Error(`no ratings given for page ${trialId}`);
  // Count what the page's ScriptProcessor really outputs, per stimulus.
  const conditions = await page.evaluate(() => {
    const control = pageManager.getCurrentPage().mushraAudioControl;
    window.__played = {};
    const process = control.process.bind(control);
    control.process = (event) => {
      process(event);
      const stimulus = control.audioStimulus;
      if (!stimulus || !control.audioPlaying) return;
      const data = event.outputBuffer.getChannelData(0);
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
      const id = control.audioIsReferencePlaying ? "__reference_button" : stimulus.id;
      const entry = window.__played[id] || (window.__played[id] = { frames: 0, sum: 0 });
      entry.frames += data.length;
      entry.sum += sum;
    };
    return control.getConditions().map((c) => c.id);
  });
  result.stimulusRates[trialId] = await page.evaluate(
    () => pageManager.getCurrentPage().reference.getAudioBuffer().sampleRate);
  const minFrames = Math.ceil(result.sampleRate * (args.playMs || 500) / 1000);
  const heard = (id) => page.waitForFunction(([k, n]) => window.__played[k] && window.__played[k].frames >= n,
    [id, minFrames]);
  await page.click("#buttonReference");
  await heard("__reference_button");
  const sliders = page.locator("input.scales");
  for (let i = 0; i < conditions.length; i++) {
    const name = conditions[i];
    if (!(name in wanted)) throw new Error(`page ${trialId}: no rating given for condition ${name}`);
    const slider = sliders.nth(i);
    if ((await slider.getAttribute("name")) !== name) throw new Error(`slider ${i} is not ${name}`);
    if (await slider.isEnabled()) throw new Error(`${trialId}/${name}: slider enabled before it was played`);
    await page.click(`#buttonConditions${i}`);
    await heard(name);
    await slider.fill(String(wanted[name]));
    await slider.press("Enter");
    const value = await slider.inputValue();
    if (Number(value) !== Number(wanted[name])) throw new Error(`${trialId}/${name}: slider shows ${value}`);
  }
  await page.click("#buttonStop");
  const played = await page.evaluate(() => window.__played);
  result.played[trialId] = Object.fromEntries(Object.entries(played).map(
    ([k, v]) => [k, { frames: v.frames, rms: Math.sqrt(v.sum / v.frames) }]));
}
