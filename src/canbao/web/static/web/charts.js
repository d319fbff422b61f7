/* Canbao's charts. Every element with data-chart="ID" is drawn from the JSON that Django's
   json_script wrote into <script id="ID">: the units' rates against the population base as
   horizontal bars, in rank order, with the policy's target line and, where it is lower, the
   accountability line; bars coloured as the printed bulletin colours them. Drawn again when
   htmx swaps a part of the page, and resized with the window. */
(function () {
  "use strict";

  var MET = "#2e7d32";
  var SHORT = "#f0a030";
  var BELOW_LINE = "#c62828";
  var TARGET = "#1565c0";

  function percent(value) {
    return value === null ? "—" : value.toFixed(1) + "%";
  }

  function colour(rate, data) {
    var value = rate === null ? 0 : rate;
    if (value >= data.target) {
      return MET;
    }
    return value < data.line ? BELOW_LINE : SHORT;
  }

  // The lines are named beside the chart (the page's legend): labels on a phone's narrow
  // chart would cover each other, 5 points apart.
  function markLines(data) {
    var lines = [
      { xAxis: data.target, lineStyle: { color: TARGET, type: "dashed", width: 1.5 } },
    ];
    if (data.line < data.target) {
      lines.push({ xAxis: data.line, lineStyle: { color: BELOW_LINE, type: "dotted", width: 2 } });
    }
    return lines;
  }

  function tooltip(units) {
    var encode = echarts.format.encodeHTML;
    return function (params) {
      var unit = units[params[0].dataIndex];
      return (
        encode(unit.name) +
        "<br>参保率 " + percent(unit.rate) + "（" + unit.enrolled + " / " + unit.base + " 人）" +
        "<br>任务完成率 " + percent(unit.task_rate)
      );
    };
  }

  function draw(element) {
    var source = document.getElementById(element.dataset.chart);
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var units = data.units;
    var narrow = element.clientWidth < 560;
    // A bar per unit at a readable height; a county's hundreds of villages get thinner bars.
    var many = units.length > 40;
    var each = many ? 16 : narrow ? 30 : 34;
    element.style.height = Math.max(140, 40 + each * units.length) + "px";
    var chart = echarts.getInstanceByDom(element) || echarts.init(element);
    chart.setOption(
      {
        animation: false,
        textStyle: { fontSize: many || narrow ? 11 : 12 },
        grid: { left: 4, right: 44, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltip(units) },
        xAxis: {
          type: "value",
          min: 0,
          max: 100,
          position: "top",
          axisLabel: { formatter: "{value}%" },
          splitLine: { lineStyle: { color: "#eee" } },
        },
        yAxis: {
          type: "category",
          inverse: true,
          data: units.map(function (unit) { return unit.name; }),
          axisTick: { show: false },
          axisLabel: { width: narrow ? 84 : 180, overflow: "truncate" },
        },
        series: [
          {
            type: "bar",
            barMaxWidth: 20,
            data: units.map(function (unit) {
              return {
                value: unit.rate === null ? 0 : unit.rate,
                itemStyle: { color: colour(unit.rate, data) },
              };
            }),
            label: {
              show: true,
              position: "right",
              formatter: function (params) { return percent(units[params.dataIndex].rate); },
            },
            markLine: {
              symbol: "none",
              silent: true,
              label: { show: false },
              data: markLines(data),
            },
          },
        ],
      },
      true
    );
    chart.resize();
  }

  function drawWithin(root) {
    root.querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawWithin(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawWithin(event.detail.elt.parentNode || document);
  });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = echarts.getInstanceByDom(element);
      if (chart) {
        draw(element);
      }
    });
  });
})();
