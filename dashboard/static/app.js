// The dashboard's only script (no framework, no CDN). It keeps pages live:
// an element with data-live names a Server-Sent Events stream, and each event
// updates the page in place (never a reload). Text from the server is set with
// textContent, never parsed as HTML.
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  const src = new EventSource(live.getAttribute("data-live"));

  function setState(el, state) {
    el.textContent = state;
    el.className = "state s-" + state;
    el.setAttribute("data-state", state);
  }

  function stageBox(container, name) {
    let box = container.querySelector('.stage[data-stage="' + CSS.escape(name) + '"]');
    if (box) return box;
    if (container.children.length) {
      const arrow = document.createElement("span");
      arrow.className = "arrow";
      arrow.textContent = "\u2192";
      container.appendChild(arrow);
    }
    box = document.createElement("div");
    box.className = "stage";
    box.setAttribute("data-stage", name);
    const b = document.createElement("b");
    b.textContent = name;
    const counts = document.createElement("div");
    counts.className = "counts";
    const bar = document.createElement("progress");
    box.append(b, counts, bar);
    container.appendChild(box);
    return box;
  }

  function updateRun(d) {
    const state = document.querySelector("#run-state .state");
    if (state && d.state) setState(state, d.state);
    const stages = document.getElementById("stages");
    if (stages && d.stages) {
      for (const [name, counts] of Object.entries(d.stages)) {
        const box = stageBox(stages, name);
        const el = box.querySelector(".counts");
        el.textContent = "";
        let total = 0, done = 0;
        for (const [st, n] of Object.entries(counts)) {
          const span = document.createElement("span");
          span.setAttribute("data-count", st);
          span.textContent = st + " " + n + " ";
          el.appendChild(span);
          total += n;
          if (st !== "waiting" && st !== "ready" && st !== "leased") done += n;
        }
        const bar = box.querySelector("progress");
        bar.max = Math.max(total, 1);
        bar.value = done;
      }
    }
    refreshGallery(live.getAttribute("data-run"));
  }

  let galleryBusy = false;
  function refreshGallery(run) {
    const gallery = document.getElementById("gallery");
    if (!gallery || !run || galleryBusy) return;
    galleryBusy = true;
    fetch("/api/v1/runs/" + encodeURIComponent(run), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((d) => {
        if (!d) return;
        const have = new Set(Array.from(gallery.querySelectorAll("a[data-sha]"), (a) => a.getAttribute("data-sha")));
        for (const img of d.images) {
          if (have.has(img.sha256)) continue;
          const a = document.createElement("a");
          a.href = "/asset/" + img.sha256;
          a.setAttribute("data-sha", img.sha256);
          const el = document.createElement("img");
          el.loading = "lazy";
          el.src = "/assets/" + img.sha256;
          el.alt = img.name;
          el.title = img.stage + " / " + img.name;
          a.appendChild(el);
          gallery.appendChild(a);
        }
        const count = document.getElementById("image-count");
        if (count) count.textContent = String(gallery.querySelectorAll("a[data-sha]").length);
      })
      .finally(() => { galleryBusy = false; });
  }

  function updateQueue(d) {
    const table = document.getElementById("queue");
    if (!table) return;
    for (const row of table.querySelectorAll("tr[data-kind]"))
      for (const st of ["waiting", "ready", "leased"]) {
        const cell = row.querySelector('td[data-count="' + st + '"]');
        if (cell) cell.textContent = "0";
      }
    for (const q of d.queue) {
      const row = table.querySelector('tr[data-kind="' + CSS.escape(q.kind) + '"]');
      const cell = row && row.querySelector('td[data-count="' + CSS.escape(q.state) + '"]');
      if (cell) cell.textContent = String(q.count);
    }
  }

  src.addEventListener("run", (e) => updateRun(JSON.parse(e.data)));
  src.addEventListener("queue", (e) => updateQueue(JSON.parse(e.data)));
  src.addEventListener("end", () => src.close());
})();
