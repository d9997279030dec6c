// HTML from tagged templates: every interpolated value is escaped unless it is already Html
// (a fragment made by the same tag). Synchronous and typed, so a page is one string built in
// one pass; hono/html's may-be-a-Promise result would make every helper async for nothing.

export class Html {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!)
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[]

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return ''
  if (v instanceof Html) return v.value
  if (Array.isArray(v)) return v.map(render).join('')
  return escapeHtml(String(v))
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/**
 * Data for the page's script, in a <script type="application/json"> block: not executable, so
 * the CSP allows it, and `<` escaped so no value can close the element.
 */
export function jsonBlock(id: string, data: unknown): Html {
  const json = JSON.stringify(data).replace(/</g, '\\u003c')
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`)
}
