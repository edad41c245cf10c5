// omnimeter dashboard: expandable rows, table search/sort/pages, period inputs and charts (Chart.js,
// served locally). No network calls. Tables keep the report's values in data-value: sorting and search
// read them, never the formatted text.
const PAGE_SIZE = 25;

function setupExpand(root) {
  for (const btn of root.querySelectorAll("button.expand")) {
    btn.addEventListener("click", () => {
      const row = document.getElementById(btn.dataset.target);
      const open = row.hidden;
      row.hidden = !open;
      btn.textContent = open ? "−" : "+";
      btn.setAttribute("aria-expanded", String(open));
    });
  }
}

// A row of the table with the detail row (if any) that follows it: they move and hide together.
function rowGroups(tbody) {
  const groups = [];
  for (const tr of tbody.children) {
    if (tr.classList.contains("detail") && groups.length) groups[groups.length - 1].push(tr);
    else if (tr.dataset.row !== undefined) groups.push([tr]);
  }
  return groups;
}

// numbers sort by the report's value, text by what a person reads (a meter's label, not its id)
function cellValue(tr, col, numeric) {
  const td = tr.querySelector(`td[data-col="${col}"]`);
  if (!td) return "";
  return numeric ? td.dataset.value ?? td.textContent : td.textContent;
}

function setupTable(section) {
  const table = section.querySelector("table.data");
  const tbody = table && table.tBodies[0];
  if (!tbody) return;
  const groups = rowGroups(tbody);
  if (!groups.length) return;
  const pager = section.querySelector("nav.pager");
  const search = section.querySelector("input.tsearch");
  const state = { page: 0, query: "", col: null, dir: 1 };
  // data-paged="false": the server pages these rows (the lines page), so all of them show
  const size = section.dataset.paged === "false" ? Number.MAX_SAFE_INTEGER : PAGE_SIZE;
  const matches = (g) => {
    if (!state.query) return true;
    const q = state.query.toLowerCase();
    return [...g[0].querySelectorAll("td")].some(
      (td) => td.textContent.toLowerCase().includes(q) || (td.dataset.value || "").toLowerCase().includes(q),
    );
  };
  const render = () => {
    let order = groups;
    if (state.col) {
      const numeric = section.querySelector(`th[data-col="${state.col}"]`).classList.contains("num");
      order = [...groups].sort((a, b) => {
        const x = cellValue(a[0], state.col, numeric);
        const y = cellValue(b[0], state.col, numeric);
        if (numeric) {
          const nx = x === "" ? -Infinity : Number(x);
          const ny = y === "" ? -Infinity : Number(y);
          return (nx - ny) * state.dir;
        }
        return x.localeCompare(y, undefined, { numeric: true }) * state.dir;
      });
      for (const g of order) for (const tr of g) tbody.appendChild(tr);
    }
    const shown = order.filter(matches);
    const pages = Math.max(1, Math.ceil(shown.length / size));
    state.page = Math.min(state.page, pages - 1);
    const from = state.page * size;
    const visible = new Set(shown.slice(from, from + size));
    for (const g of groups) {
      const on = visible.has(g);
      g[0].hidden = !on;
      for (const d of g.slice(1)) if (!on) d.hidden = true;
      if (!on) {
        const btn = g[0].querySelector("button.expand");
        if (btn) { btn.textContent = "+"; btn.setAttribute("aria-expanded", "false"); }
      }
    }
    section.dataset.shown = String(shown.length);
    if (!pager) return;
    pager.hidden = shown.length <= size && !state.query;
    pager.replaceChildren();
    const info = document.createElement("span");
    info.className = "pinfo";
    info.textContent = shown.length
      ? `${(from + 1).toLocaleString("en")}–${Math.min(from + size, shown.length).toLocaleString("en")} of ${shown.length.toLocaleString("en")}`
      : "no matching rows";
    const button = (label, page, cls) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = cls;
      b.textContent = label;
      b.disabled = page < 0 || page >= pages || page === state.page;
      b.addEventListener("click", () => { state.page = page; render(); });
      return b;
    };
    pager.append(button("‹ Previous", state.page - 1, "prev"), info, button("Next ›", state.page + 1, "next"));
  };
  for (const th of section.querySelectorAll("thead th[data-col]")) {
    const btn = th.querySelector("button.sort");
    if (!btn) continue;
    btn.addEventListener("click", () => {
      const col = th.dataset.col;
      state.dir = state.col === col ? -state.dir : 1;
      state.col = col;
      state.page = 0;
      for (const other of section.querySelectorAll("thead th")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", state.dir === 1 ? "ascending" : "descending");
      render();
    });
  }
  if (search) {
    search.addEventListener("input", () => { state.query = search.value.trim(); state.page = 0; render(); });
  }
  render();
}

function setupPeriod() {
  const period = document.getElementById("period");
  if (!period) return;
  const toggleDates = () => {
    for (const id of ["from", "to"]) {
      const input = document.getElementById(id);
      if (input) input.closest("label").hidden = period.value !== "custom";
    }
  };
  period.addEventListener("change", toggleDates);
  toggleDates();
  // the viewer's own zone, offered beside the tenant's
  const tz = document.getElementById("tz");
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (tz && mine && ![...tz.options].some((o) => o.value === mine)) {
    const o = document.createElement("option");
    o.value = mine;
    o.textContent = `${mine} (this browser)`;
    tz.appendChild(o);
  }
}

const PALETTE = ["#2f6fdf", "#9aa5b1", "#2fb380", "#e0a030", "#d9534f", "#7b61c9", "#1aa3b8", "#b8651a", "#5d6d7e"];

function paler(hex) {
  return `${hex}66`; // the same colour at 40 % opacity: a partial bucket
}

function datasetsOf(spec, datasets) {
  return datasets.map((d, i) => {
    const color = PALETTE[i % PALETTE.length];
    const out = { label: d.label, data: d.data, borderColor: color, backgroundColor: color };
    if (spec.type === "bar" && d.partial) out.backgroundColor = d.partial.map((p) => (p ? paler(color) : color));
    if (spec.type === "line") {
      out.tension = 0.2;
      out.pointRadius = 2;
      // the segment into a partial bucket is dashed: its fall is days still to come, not less usage
      if (spec.partial) out.segment = { borderDash: (ctx) => (spec.partial[ctx.p1DataIndex] ? [5, 4] : undefined) };
    }
    return out;
  });
}

function drawCharts() {
  if (typeof Chart === "undefined") return;
  for (const el of document.querySelectorAll("script[data-chart]")) {
    const spec = JSON.parse(el.textContent);
    const canvas = document.getElementById(el.dataset.chart);
    const source = spec.modes ? spec.modes[spec.mode] : spec.datasets;
    const chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasetsOf(spec, source) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => {
                const it = items[0];
                const ds = (spec.modes ? spec.modes[spec.mode] : spec.datasets)[it.datasetIndex];
                return ds && ds.periods ? ds.periods[it.dataIndex] : it.label;
              },
              label: (it) => {
                const ds = (spec.modes ? spec.modes[spec.mode] : spec.datasets)[it.datasetIndex];
                const raw = ds && ds.raw ? ds.raw[it.dataIndex] : String(it.raw);
                const money = !spec.modes || spec.mode === "cost";
                return `${ds.label}: ${Number(raw).toLocaleString("en", { maximumFractionDigits: 6 })}${money && spec.currency ? ` ${spec.currency}` : ""}`;
              },
            },
          },
        },
      },
    });
    canvas.dataset.ready = "1";
    canvas.dataset.mode = spec.mode || "";
    const sw = document.querySelector(`[data-switch="${el.dataset.chart}"]`);
    if (sw && spec.modes) {
      for (const btn of sw.querySelectorAll("button[data-mode]")) {
        btn.addEventListener("click", () => {
          spec.mode = btn.dataset.mode;
          chart.data.datasets = datasetsOf(spec, spec.modes[spec.mode]);
          chart.update();
          canvas.dataset.mode = spec.mode;
          for (const b of sw.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === btn));
        });
      }
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupExpand(document);
  // bar widths from data attributes (the CSP allows no inline style)
  for (const el of document.querySelectorAll("[data-width]")) el.style.width = `${el.dataset.width}%`;
  for (const section of document.querySelectorAll("section.tbl")) setupTable(section);
  setupPeriod();
  drawCharts();
});
