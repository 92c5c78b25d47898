// The operator's page: polls the worker's /dashboard/data/ (counters and their series) and
// /lists/{user}/ (the chosen user's last list), draws the series with uPlot. Plain JavaScript,
// no build step; every value shown comes from the worker. Data from producers (ids, reasons) is
// only ever set as text, never as HTML.
"use strict";
(() => {
  const TOKEN_KEY = "recsys-token";
  const LIST_POLL_MS = 1000;
  const COLORS = ["#1f6feb", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#8d6e63", "#495057"];
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ token and requests
  const params = new URLSearchParams(location.search);
  if (params.has("token")) { // taken once, kept in this tab, and out of the address bar and history
    sessionStorage.setItem(TOKEN_KEY, params.get("token"));
    params.delete("token");
    setQuery(params);
  }

  function setQuery(query) {
    const text = query.toString();
    history.replaceState(null, "", location.pathname + (text ? "?" + text : ""));
  }

  class NeedsToken extends Error {}

  async function get(path) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const reply = await fetch(path, { headers, cache: "no-store" });
    if (reply.status === 401) {
      $("token-form").hidden = false;
      throw new NeedsToken("this worker needs its API token");
    }
    return { status: reply.status, headers: reply.headers, body: await reply.json().catch(() => null) };
  }

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    $("token-form").hidden = true;
    pollData();
    pollList();
  });

  // ------------------------------------------------------------------ formatting
  const dash = "–";
  const integer = (v) => (v == null ? dash : Math.round(v).toLocaleString("en-US"));
  function number(v) {
    if (v == null) return dash;
    if (v === 0) return "0";
    const a = Math.abs(v);
    const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
    return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  const percent = (v) => (v == null ? dash : (100 * v).toFixed(1) + "%");
  const interval = (ci, f) => (ci == null || ci[0] == null ? dash : `[${f(ci[0])}, ${f(ci[1])}]`);
  const last = (column) => {
    for (let i = column.length - 1; i >= 0; i--) if (column[i] != null) return column[i];
    return null;
  };
  function text(id, value) { $(id).textContent = value; }

  // ------------------------------------------------------------------ charts
  const charts = {};

  function makeChart(id, labels, format) {
    const el = $(id);
    if (charts[id]) { charts[id].destroy(); el.textContent = ""; }
    const opts = {
      width: Math.max(el.clientWidth, 300),
      height: 190,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#eef0f3" } },
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#eef0f3" }, size: 60,
          values: (u, ticks) => ticks.map(format) },
      ],
      series: [{}, ...labels.map((label, i) => ({
        label, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false },
        value: (u, v) => (v == null ? dash : format(v)),
      }))],
    };
    charts[id] = new uPlot(opts, [[], ...labels.map(() => [])], el);
    charts[id].labels = labels.join("\u0000");
    return charts[id];
  }

  function draw(id, labels, columns, t, format = number) {
    let chart = charts[id];
    if (!chart || chart.labels !== labels.join("\u0000")) chart = makeChart(id, labels, format);
    chart.setData([t, ...columns]);
  }

  window.addEventListener("resize", () => {
    for (const [id, chart] of Object.entries(charts)) chart.setSize({ width: Math.max($(id).clientWidth, 300), height: 190 });
  });

  // ------------------------------------------------------------------ counters, series, experiment
  function showCounters(now, series) {
    text("catalogue", integer(now.catalogue));
    text("index", integer(now.index));
    text("events-in", integer(now.events_in));
    text("applied", integer(now.applied));
    text("published", integer(now.published));
    text("dead-letters", integer(now.dead_letters));
    text("events-rate", number(last(series.events_in)));
    text("lists-rate", number(last(series.published)));
    text("processing", `${number(last(series.processing_p50_ms))} / ${number(last(series.processing_p99_ms))}`);
    text("end-to-end", `${number(last(series.end_to_end_p50_ms))} / ${number(last(series.end_to_end_p99_ms))}`);
    text("model-version", now.model_version || dash);
  }

  function showSeries(s) {
    const t = s.t;
    draw("chart-throughput", ["events in", "interactions applied", "lists published", "dead letters"],
         [s.events_in, s.applied, s.published, s.dead_letters], t);
    draw("chart-processing", ["p50", "p99", "mean"], [s.processing_p50_ms, s.processing_p99_ms, s.processing_mean_ms], t);
    draw("chart-end-to-end", ["p50", "p99", "mean"], [s.end_to_end_p50_ms, s.end_to_end_p99_ms, s.end_to_end_mean_ms], t);
    draw("chart-sizes", ["catalogue", "MF index"], [s.catalogue, s.index], t, integer);
    const variants = Object.keys(s.variants);
    draw("chart-lists", variants, variants.map((v) => s.variants[v].lists), t, integer);
    draw("chart-hit-rate", variants, variants.map((v) => s.variants[v].hit_rate), t, percent);
  }

  function showExperiment(now) {
    text("experiment-name", now.experiment ? `${now.experiment} (control: ${now.control})` : "none running");
    const body = document.createElement("tbody");
    for (const row of now.report) {
      const tr = body.insertRow();
      tr.dataset.variant = row.variant;
      if (row.significant) tr.className = "significant";
      const cells = [
        ["variant", row.variant + (row.variant === now.control ? " (control)" : "")],
        ["lists", integer(row.lists)], ["hits", integer(row.hits)],
        ["positives", integer((now.variants[row.variant] || {}).positives)],
        ["rate", percent(row.rate)], ["ci", interval(row.ci, percent)],
        ["diff", row.diff == null ? dash : number(row.diff)], ["diff-ci", interval(row.diff_ci, number)],
      ];
      for (const [name, value] of cells) {
        const td = tr.insertCell();
        td.className = name === "variant" ? name : name + " num";
        td.textContent = value;
      }
    }
    $("variants").replaceChild(body, $("variants").tBodies[0]);
  }

  let dataTimer = null;
  async function pollData() {
    clearTimeout(dataTimer);
    let wait = 2000;
    try {
      const { status, body } = await get("/dashboard/data/");
      if (status !== 200 || !body) throw new Error(`/dashboard/data/ answered ${status}`);
      wait = body.interval * 1000;
      text("worker", body.worker);
      showCounters(body.now, body.series);
      showSeries(body.series);
      showExperiment(body.now);
      const status_ = $("status");
      status_.className = "status";
      status_.textContent = `updated ${new Date().toLocaleTimeString("en-GB")} · ${body.series.t.length} points, ` +
        `one every ${body.interval} s (at most ${body.capacity})`;
    } catch (error) {
      $("status").className = "status error";
      $("status").textContent = error.message;
      if (error instanceof NeedsToken) return; // resumes when a token is given
    }
    dataTimer = setTimeout(pollData, wait);
  }

  // ------------------------------------------------------------------ one user's live list
  let shownList = null;
  let listTimer = null;

  function showList(rec, servedBy) {
    const key = `${rec.list_id}|${rec.generated_at}`;
    if (key === shownList) return;
    shownList = key;
    const meta = $("user-meta");
    meta.dataset.user = rec.user_id;
    meta.dataset.listId = rec.list_id;
    meta.textContent = "";
    const parts = [["list", rec.list_id || dash], ["variant", rec.variant || "none"], ["caused by", rec.event_id],
                   ["published", new Date(rec.generated_at * 1000).toLocaleTimeString("en-GB")],
                   ["latency", `${number(rec.latency_ms)} ms`], ["model", rec.model_version],
                   ["served by", servedBy || dash]];
    parts.forEach(([label, value], i) => {
      meta.append((i ? " · " : "") + label + " ");
      const b = document.createElement("b");
      b.textContent = value;
      meta.append(b);
    });
    const body = document.createElement("tbody");
    body.className = "fresh";
    rec.items.forEach((item, i) => {
      const tr = body.insertRow();
      tr.dataset.item = item.item_id;
      const cells = [item.position || i + 1, item.item_id, item.score.toFixed(3)];
      cells.forEach((value, j) => {
        const td = tr.insertCell();
        td.textContent = value;
        if (j !== 1) td.className = "num";
      });
      const reasons = tr.insertCell();
      reasons.className = "reasons";
      for (const reason of item.reasons) {
        const span = document.createElement("span");
        span.className = "reason";
        span.textContent = reason;
        reasons.append(span);
      }
      const sources = tr.insertCell();
      sources.className = "source";
      sources.textContent = item.sources.join(", ");
    });
    $("user-list").replaceChild(body, $("user-list").tBodies[0]);
  }

  function showNoList(message) {
    shownList = null;
    const meta = $("user-meta");
    delete meta.dataset.listId;
    meta.textContent = message;
    $("user-list").replaceChild(document.createElement("tbody"), $("user-list").tBodies[0]);
  }

  async function pollList() {
    clearTimeout(listTimer);
    const user = $("user-id").value.trim();
    if (!user) return;
    try {
      const { status, headers, body } = await get(`/lists/${encodeURIComponent(user)}/`);
      if ($("user-id").value.trim() !== user) return; // the box changed meanwhile
      if (status === 200 && body) showList(body, headers.get("X-Recsys-Served-By"));
      else showNoList((body && body.error) || `/lists/ answered ${status}`);
    } catch (error) {
      showNoList(error.message);
      if (error instanceof NeedsToken) return;
    }
    listTimer = setTimeout(pollList, LIST_POLL_MS);
  }

  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = $("user-id").value.trim();
    const query = new URLSearchParams(location.search);
    if (user) query.set("user", user); else query.delete("user");
    setQuery(query);
    showNoList(user ? `waiting for the list of ${user}…` : "Type a user id.");
    pollList();
  });

  $("user-id").value = params.get("user") || "";
  pollData();
  pollList();
})();
