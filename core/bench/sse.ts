// Incremental parser for text/event-stream bodies: bytes in, `data:` payloads out.
// Events are separated by a blank line; a network read may hold several events or part of one.
import { StringDecoder } from 'node:string_decoder'

export class SseParser {
  private decoder = new StringDecoder('utf8')
  private buffer = ''

  /** Feeds one network chunk; returns the data payloads of the events it completed. */
  push(chunk: Buffer): string[] {
    let text = this.buffer + this.decoder.write(chunk)
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n')
    const out: string[] = []
    let start = 0
    for (;;) {
      const end = text.indexOf('\n\n', start)
      if (end < 0) break
      const data = eventData(text, start, end)
      if (data !== null) out.push(data)
      start = end + 2
    }
    this.buffer = start === 0 ? text : text.slice(start)
    return out
  }

  /** What is left when the body ends without a closing blank line. */
  end(): string[] {
    const rest = (this.buffer + this.decoder.end()).replace(/\r\n?/g, '\n')
    this.buffer = ''
    const data = rest.trim() ? eventData(rest, 0, rest.length) : null
    return data === null ? [] : [data]
  }

  get pending(): number {
    return this.buffer.length
  }
}

/** Joins the `data:` lines of one event (per the SSE spec, several are joined with \n). */
function eventData(text: string, start: number, end: number): string | null {
  // Fast path: the whole event is a single `data: ...` line, as vLLM sends them.
  if (text.startsWith('data:', start)) {
    const nl = text.indexOf('\n', start)
    if (nl < 0 || nl >= end) {
      const from = text.charCodeAt(start + 5) === 32 ? start + 6 : start + 5
      return text.slice(from, end)
    }
  }
  let data: string | null = null
  for (const line of text.slice(start, end).split('\n')) {
    if (!line.startsWith('data:')) continue // comments (":"), event:, id:, retry:
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
    data = data === null ? value : `${data}\n${value}`
  }
  return data
}
