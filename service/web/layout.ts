// The frame of every page: head with the bundled assets, a header with where you are, and the
// page's data for its script. No inline script or style anywhere (the CSP forbids both).
import { assetUrl } from './assets.ts'
import { Html, html } from './html.ts'

export interface Crumb {
  label: string
  href?: string
}

export interface PageOptions {
  title: string
  crumbs?: Crumb[]
  /** Charts on the page: uPlot and the dashboard script are loaded. */
  charts?: boolean
  /** Signed in: a sign-out button. */
  signedIn?: boolean
  /** A note under the header (a signed link's "read-only"). */
  notice?: string
}

export function page(o: PageOptions, body: Html): Html {
  const crumbs = o.crumbs ?? []
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Infergate</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetUrl('dashboard.css')}">
${o.charts ? html`<link rel="stylesheet" href="${assetUrl('uPlot.css')}">` : ''}
</head>
<body>
<header>
<nav aria-label="breadcrumb"><a href="/" class="brand">Infergate</a>${crumbs.map((c) =>
    c.href
      ? html` <span>/</span> <a href="${c.href}">${c.label}</a>`
      : html` <span>/</span> <span>${c.label}</span>`,
  )}</nav>
${o.signedIn ? html`<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>` : ''}
</header>
${o.notice ? html`<p class="notice">${o.notice}</p>` : ''}
<main>
<h1>${o.title}</h1>
${body}
</main>
${o.charts ? html`<script src="${assetUrl('uPlot.js')}"></script><script src="${assetUrl('dashboard.js')}"></script>` : ''}
</body>
</html>`
}

export const fmt = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits)

export const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)}%`

export const shortSha = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : '–')

export function verdictBadge(verdict: string | null | undefined): Html {
  if (!verdict) return html`<span class="badge">–</span>`
  return html`<span class="badge v-${verdict}">${verdict.replace('_', ' ')}</span>`
}

export const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`

export { Html }
