// The month chart of a scope page: daily values from the page's JSON, drawn with the
// shipped Chart.js (no CDN), with the zero-carbon line where the KPI has one.
(function () {
  const el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  const data = JSON.parse(el.textContent);
  const datasets = data.series.map(function (s, i) {
    return { label: s.label, data: s.values, borderColor: ["#1f77b4", "#2ca02c"][i % 2], yAxisID: i ? "y1" : "y" };
  });
  if (data.line !== null) {
    datasets.push({ label: data.line_label, data: data.days.map(function () { return data.line; }),
      borderColor: "#d62728", borderDash: [6, 4], pointRadius: 0, yAxisID: "y1" });
  }
  new Chart(document.getElementById("month-chart"), {
    type: "line",
    data: { labels: data.days, datasets: datasets },
    options: { animation: false, scales: { y: { position: "left" }, y1: { position: "right" } } },
  });
})();
