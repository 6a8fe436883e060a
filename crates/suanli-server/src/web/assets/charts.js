// charts.js: the web UI's charts over time redrawn with Apache ECharts, a progressive enhancement of the server's SVG charts.
//
// Each chart over time (web/charts.rs) is an SVG drawn on the server, its data beside it in a
// <script type="application/json" class="chart-data">: each line's points (unix ms, the value,
// the value as the page writes it, with its unit), the time axis's span, the value axis's ends
// and step, the limit line and every word in the page's language. The server loads this script,
// after ECharts (/assets/echarts.min.js, which it embeds when it was built with web/node_modules
// installed), only on pages that have such a chart. It draws each one with ECharts in place of
// the SVG: a tooltip with the time in Beijing time and each value with its unit; a time range
// zoomed or brushed with the slider under the plot (drag its handles, or drag across it), with
// Ctrl and the wheel or a pinch inside the plot (a plain wheel or a finger still scrolls the page); a legend that hides and shows a line; the limit
// as a dashed marked line. The SVG and its legend stay in the page, hidden, and come back if
// ECharts fails. A live page's refresh (suanli.js's `suanli:refresh`) redraws its charts and
// keeps each one's zoom. For screen readers the chart is an image described, through ECharts'
// aria option, by the server's words in the page's language (title, span in Beijing time, unit,
// each line's lowest, highest and latest value, the limit); every point stays in the visually
// hidden table after it. The script holds no text of its own.
(function () {
  'use strict';

  if (typeof echarts === 'undefined') return;
  // The time axis in Asia/Shanghai whatever the browser's zone: times move eight hours on and
  // ECharts writes them as UTC.
  const CST = 8 * 3600 * 1000;
  const pad = (n) => String(n).padStart(2, '0');
  const moment = (t) => {
    const d = new Date(t);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  };
  const short = (t) => moment(t).slice(5);
  const html = (s) => echarts.format.encodeHTML(String(s));
  const zooms = new Map(); // chart id -> { start, end } in percent, kept across a live page's refresh
  const charts = new Map(); // ECharts instance -> its data
  const measure = document.createElement('canvas').getContext('2d');
  const fine = window.matchMedia('(pointer: fine)').matches;

  /** The tooltip: the moment, then each line's value as the page writes it; the limit last. */
  function tooltip(data) {
    return (params) => {
      const list = Array.isArray(params) ? params : [params];
      const rows = list
        .filter((p) => p.data && p.data.text !== undefined)
        .map((p) => `${p.marker}${html(p.seriesName)}: <b>${html(p.data.text)}</b>`);
      if (data.limit) rows.push(`— ${html(data.limit.label)}`);
      const at = list[0] ? moment(Array.isArray(list[0].value) ? list[0].value[0] : list[0].axisValue) : '';
      return [`${html(at)} (UTC+8)`, ...rows].join('<br>');
    };
  }

  function series(data) {
    const lines = data.lines.map((l) => ({
      name: l.name,
      type: 'line',
      color: l.colour,
      showSymbol: true,
      symbolSize: 5,
      data: l.points.map(([t, v, text]) => ({ value: [t + CST, v], text })),
    }));
    if (data.limit) {
      lines.push({
        name: data.limit.label,
        type: 'line',
        color: '#1a1a1a',
        symbol: 'none',
        lineStyle: { type: 'dashed' },
        data: [],
        markLine: {
          symbol: 'none',
          silent: true,
          lineStyle: { type: 'dashed', color: '#1a1a1a', width: 1.5 },
          label: { position: 'insideEndTop', formatter: data.limit.text, fontSize: 12 },
          data: [{ yAxis: data.limit.value }],
        },
      });
    }
    return lines;
  }

  function option(data, zoom) {
    const [min, max, step] = data.y;
    const span = { start: zoom ? zoom.start : 0, end: zoom ? zoom.end : 100 };
    return {
      animation: false,
      useUTC: true,
      aria: { enabled: true, label: { description: data.description || data.title } },
      textStyle: { fontSize: 12 },
      grid: { left: 8, right: 16, top: 56, bottom: 64, containLabel: true },
      legend: {
        top: 0,
        left: 0,
        right: 0,
        textStyle: { fontSize: 12 },
        // The limit's key is its dashed line alone, without a point's dot.
        data: data.lines.map((l) => l.name).concat(data.limit ? [{ name: data.limit.label, itemStyle: { opacity: 0 } }] : []),
      },
      tooltip: { trigger: 'axis', confine: true, formatter: tooltip(data), axisPointer: { type: 'line' } },
      xAxis: {
        type: 'time',
        min: data.x[0] + CST,
        max: data.x[1] + CST,
        name: data.timeAxis,
        nameLocation: 'end',
        nameGap: 4,
        nameTextStyle: { align: 'right', verticalAlign: 'top', padding: [24, 0, 0, 0] },
        axisLabel: { hideOverlap: true, formatter: { year: '{yyyy}', month: '{yyyy}-{MM}', day: '{MM}-{dd}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' } },
      },
      yAxis: {
        type: 'value',
        min,
        max,
        interval: step,
        name: data.unit,
        nameTextStyle: { align: 'left' },
        axisLabel: { formatter: (v) => echarts.format.addCommas(+v.toFixed(6)) },
      },
      dataZoom: [
        {
          type: 'inside',
          xAxisIndex: 0,
          filterMode: 'none',
          zoomOnMouseWheel: 'ctrl',
          moveOnMouseWheel: false,
          // A finger's drag scrolls the page (a pinch zooms); a mouse's drag pans the range.
          moveOnMouseMove: fine,
          preventDefaultMouseMove: fine,
          ...span,
        },
        { type: 'slider', xAxisIndex: 0, filterMode: 'none', height: 22, bottom: 8, brushSelect: true, labelFormatter: (v) => short(v), ...span },
      ],
      series: series(data),
    };
  }

  /** The rows that the legend's names take at a width, as ECharts lays them out (icon 25, gap 5, item gap 10, padding 5). */
  function legendRows(names, width) {
    measure.font = '12px sans-serif';
    let rows = 1;
    let x = 0;
    for (const name of names) {
      const w = 25 + 5 + measure.measureText(name).width + 10;
      if (x > 0 && x + w > width - 10) {
        rows++;
        x = 0;
      }
      x += w;
    }
    return rows;
  }

  /** Room for the whole legend above the plot, so every name stays readable on a phone: the box grows with its rows. */
  function fit(chart, data) {
    const names = data.lines.map((l) => l.name).concat(data.limit ? [data.limit.label] : []);
    const rows = legendRows(names, chart.getDom().clientWidth);
    const height = `${296 + rows * 24}px`;
    if (chart.getDom().style.height !== height) {
      chart.getDom().style.height = height;
    }
    chart.resize();
    chart.setOption({ grid: { top: rows * 24 + 32 } });
  }

  /** Draws a chart box (`.tchart`) with ECharts; leaves the SVG in place when it cannot. */
  function draw(box) {
    const script = box.querySelector('script.chart-data');
    const svg = box.querySelector(':scope > .chart');
    if (!script || !svg || box.querySelector(':scope > .echart')) return;
    const id = box.dataset.chart;
    const legend = svg.nextElementSibling?.matches('.legend') ? svg.nextElementSibling : null;
    const el = document.createElement('div');
    el.className = 'chart echart';
    svg.after(el);
    try {
      const data = JSON.parse(script.textContent);
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', data.description || data.title);
      const chart = echarts.init(el, null, { renderer: 'canvas', locale: document.documentElement.lang === 'en' ? 'EN' : 'ZH' });
      chart.setOption(option(data, zooms.get(id)));
      fit(chart, data);
      chart.on('datazoom', () => {
        const z = chart.getOption().dataZoom[0];
        zooms.set(id, { start: z.start, end: z.end });
      });
      // ECharts stops every wheel event over the plot, zooming or not: let a plain wheel scroll the page.
      for (const type of ['wheel', 'mousewheel']) {
        el.addEventListener(type, (ev) => ev.ctrlKey || ev.stopPropagation(), { capture: true });
      }
      charts.set(chart, data);
      svg.hidden = true;
      if (legend) legend.hidden = true;
      box.dataset.interactive = 'echarts';
    } catch (e) {
      echarts.getInstanceByDom(el)?.dispose();
      el.remove();
      console.error('suanli charts: the SVG chart stays', id, e);
    }
  }

  function drawAll() {
    for (const chart of charts.keys()) {
      if (!chart.getDom().isConnected) {
        chart.dispose();
        charts.delete(chart);
      }
    }
    document.querySelectorAll('.tchart').forEach(draw);
  }

  drawAll();
  document.addEventListener('suanli:refresh', drawAll);
  let resizing = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => charts.forEach((data, chart) => fit(chart, data)), 100);
  });
})();
