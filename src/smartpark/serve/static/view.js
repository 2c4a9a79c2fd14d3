// The chart of a scope page: energy (bars, left axis) and CO2 (line, right axis) per
// finer period, from the page's JSON, drawn with the shipped Chart.js (no CDN).
(function () {
  const el = document.getElementById("chart-data");
  const canvas = document.getElementById("daily-chart");
  if (!el || !canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(el.textContent);
  const colours = ["#2a6f97", "#c2571a"];
  const datasets = data.series.map(function (s, i) {
    return {
      type: i === 0 ? "bar" : "line",
      label: s.label,
      data: s.values,
      backgroundColor: colours[i % 2],
      borderColor: colours[i % 2],
      yAxisID: i === 0 ? "y" : "y1",
    };
  });
  const locale = document.documentElement.lang || "en";
  new Chart(canvas, {
    data: { labels: data.labels, datasets: datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      locale: locale,
      scales: {
        y: { position: "left", beginAtZero: true },
        y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
  });
})();
