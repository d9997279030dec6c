// Draws the dashboard's charts with uPlot from the JSON blocks the server put in the page
// (service/web/charts.ts shaped them). Plain script, no build step: it is served as it is here.
// Each chart element gets data-points: the points drawn, which the browser tests count.
;(() => {
  const U = window.uPlot
  const COLORS = { candidate: '#d9480f', baseline: '#1c7ed6', base: '#1c7ed6', pr: '#868e96' }

  const dataOf = (el) => JSON.parse(document.getElementById(el.dataset.source).textContent)
  const width = (el) => Math.max(280, el.clientWidth || 320)

  /** Candidate and baseline ECDFs of one metric on a log axis, merged onto one x for uPlot. */
  function ecdfChart(el) {
    const d = dataOf(el)[el.dataset.metric]
    const sets = [d.candidate, d.baseline].filter(Boolean)
    const xs = [...new Set(sets.flatMap((s) => s.x))].sort((a, b) => a - b)
    const at = (s) => {
      const y = new Array(xs.length).fill(null)
      const index = new Map(xs.map((x, i) => [x, i]))
      s.x.forEach((x, i) => {
        y[index.get(x)] = s.y[i]
      })
      return y
    }
    const series = [{}, { label: `candidate (n=${d.candidate.n})`, stroke: COLORS.candidate, spanGaps: true }]
    const data = [xs, at(d.candidate)]
    if (d.baseline) {
      series.push({ label: `baseline (n=${d.baseline.n})`, stroke: COLORS.baseline, spanGaps: true })
      data.push(at(d.baseline))
    }
    for (const s of series.slice(1)) s.paths = U.paths.stepped({ align: 1 })
    el.dataset.points = String(sets.reduce((n, s) => n + s.x.length, 0))
    new U(
      {
        title: d.label,
        width: width(el),
        height: 220,
        scales: { x: { time: false, distr: xs.length && xs[0] > 0 ? 3 : 1 }, y: { range: [0, 1] } },
        axes: [{ label: d.label }, { label: 'share of requests' }],
        series,
      },
      data,
      el,
    )
  }

  /** Throughput against latency across the run's scenarios. */
  function curveChart(el) {
    const d = dataOf(el)
    const pts = [...d.points].sort((a, b) => a.output_throughput - b.output_throughput)
    el.dataset.points = String(pts.length)
    new U(
      {
        title: 'Output throughput vs latency',
        width: width(el),
        height: 260,
        scales: { x: { time: false } },
        axes: [{ label: 'output tokens/s' }, { label: 'ms' }],
        series: [
          {
            label: 'tok/s',
            value: (_u, v, _s, i) =>
              v == null
                ? ''
                : `${v.toFixed(0)} (${pts[i]?.scenario}, ${d.loadLabel} ${pts[i]?.load ?? 'inf'})`,
          },
          { label: 'TTFT p50', stroke: COLORS.candidate, points: { show: true, size: 7 } },
          { label: 'TTFT p99', stroke: '#e8590c', dash: [6, 4], points: { show: true, size: 7 } },
          { label: 'TPOT p50', stroke: COLORS.baseline, points: { show: true, size: 7 } },
        ],
      },
      [
        pts.map((p) => p.output_throughput),
        pts.map((p) => p.median_ttft_ms),
        pts.map((p) => p.p99_ttft_ms),
        pts.map((p) => p.median_tpot_ms),
      ],
      el,
    )
  }

  /** One metric over time: base branch as a line, PR runs as hollow points, verdicts marked. */
  function historyChart(el) {
    const d = dataOf(el)
    const table = JSON.parse(document.getElementById('history-runs').textContent)
    // Points as [run, value, verdict] (service/web/pages/history.ts), in time order.
    const runs = [...d.base.map((p) => [p, false]), ...d.prs.map((p) => [p, true])]
      .map(([[i, value, verdict], isPr]) => ({ ...table[i], i, value, verdict, isPr }))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    const t = runs.map((p) => Date.parse(p.time) / 1000)
    const pick = (f) => runs.map((p) => (f(p) ? p.value : null))
    const band = d.band
    const inWindow = (() => {
      if (!d.window) return () => false
      const a = runs.findIndex((p) => p.i === d.window[0])
      const b = runs.findIndex((p) => p.i === d.window[1])
      return (k) => k >= a && k <= b
    })()
    const data = [
      t,
      pick((p) => !p.isPr),
      pick((p) => p.isPr),
      pick((p) => p.verdict === 'regression'),
      pick((p) => p.verdict === 'improvement'),
      pick((p) => d.pinned.includes(p.i)),
      runs.map((_, k) => (band && inWindow(k) ? band.center * (1 + band.noise_pct / 100) : null)),
      runs.map((_, k) => (band && inWindow(k) ? band.center * (1 - band.noise_pct / 100) : null)),
    ]
    el.dataset.points = String(runs.filter((p) => p.value !== null).length)
    const tip = el.parentElement.querySelector('.tooltip')
    const u = new U(
      {
        title: d.label,
        width: width(el),
        height: 280,
        cursor: { points: { size: 9 } },
        legend: { show: true },
        series: [
          {},
          {
            label: 'base branch',
            stroke: COLORS.base,
            width: 2,
            spanGaps: true,
            points: { show: true, size: 5 },
          },
          {
            label: 'pull requests',
            stroke: COLORS.pr,
            paths: () => null,
            points: { show: true, size: 7, fill: '#fff' },
          },
          {
            label: 'regression',
            stroke: '#e03131',
            paths: () => null,
            points: { show: true, size: 11, fill: '#e03131' },
          },
          {
            label: 'improvement',
            stroke: '#2f9e44',
            paths: () => null,
            points: { show: true, size: 11, fill: '#2f9e44' },
          },
          {
            label: 'pinned',
            stroke: '#7048e8',
            paths: () => null,
            points: { show: true, size: 15, fill: 'transparent', width: 2 },
          },
          { label: 'noise +', stroke: 'rgba(28,126,214,0.35)', dash: [4, 4], spanGaps: true },
          { label: 'noise −', stroke: 'rgba(28,126,214,0.35)', dash: [4, 4], spanGaps: true },
        ],
        bands: band ? [{ series: [6, 7], fill: 'rgba(28,126,214,0.10)' }] : [],
        hooks: {
          setCursor: [
            (u) => {
              const i = u.cursor.idx
              if (i == null || !tip) {
                if (tip) tip.hidden = true
                return
              }
              const p = runs[i]
              tip.hidden = false
              tip.textContent = `${p.value == null ? '–' : p.value.toFixed(2)} · ${(p.sha || '').slice(0, 7)} · ${p.branch || ''}${p.pr ? ` · PR #${p.pr}` : ''} · ${p.time.slice(0, 16).replace('T', ' ')} · ${p.verdict || 'no verdict'} · run ${p.id.slice(0, 8)}`
            },
          ],
        },
      },
      data,
      el,
    )
    // A click opens the run under the cursor.
    u.over.addEventListener('click', () => {
      const i = u.cursor.idx
      if (i != null && runs[i]) window.location.href = `/runs/${runs[i].id}`
    })
    u.over.style.cursor = 'pointer'
  }

  const KINDS = { ecdf: ecdfChart, curve: curveChart, history: historyChart }
  for (const el of document.querySelectorAll('[data-chart]')) {
    try {
      KINDS[el.dataset.chart](el)
    } catch (e) {
      el.textContent = `chart failed: ${e.message}`
      console.error(e)
    }
  }
})()
