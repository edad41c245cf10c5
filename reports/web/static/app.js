// omnimeter dashboard: expandable rows and charts (Chart.js, served locally). No network calls.
document.addEventListener("DOMContentLoaded", () => {
  for (const btn of document.querySelectorAll("button.expand")) {
    btn.addEventListener("click", () => {
      const row = document.getElementById(btn.dataset.target);
      const open = row.hidden;
      row.hidden = !open;
      btn.textContent = open ? "−" : "+";
      btn.setAttribute("aria-expanded", String(open));
    });
  }
  // bar widths from data attributes (the CSP allows no inline style)
  for (const el of document.querySelectorAll("[data-width]")) el.style.width = `${el.dataset.width}%`;
  const period = document.getElementById("period");
  const toggleDates = () => {
    for (const id of ["from", "to"]) {
      const input = document.getElementById(id);
      if (input) input.closest("label").hidden = period.value !== "custom";
    }
  };
  if (period) {
    period.addEventListener("change", toggleDates);
    toggleDates();
  }
  if (typeof Chart === "undefined") return;
  const palette = ["#2f6fdf", "#9aa5b1", "#2fb380", "#e0a030", "#d9534f", "#7b61c9"];
  for (const el of document.querySelectorAll("script[data-chart]")) {
    const spec = JSON.parse(el.textContent);
    const canvas = document.getElementById(el.dataset.chart);
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => ({ ...d, backgroundColor: palette[i % palette.length] })),
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false },
    });
    canvas.dataset.ready = "1";
  }
});
