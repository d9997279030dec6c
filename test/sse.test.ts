import { describe, expect, it } from 'vitest'
import { SseParser } from '../core/bench/sse.ts'

const feed = (parts: (string | Buffer)[]) => {
  const p = new SseParser()
  const out: string[] = []
  for (const part of parts) out.push(...p.push(Buffer.isBuffer(part) ? part : Buffer.from(part)))
  out.push(...p.end())
  return out
}

describe('SSE parser', () => {
  it('splits events and strips the data: prefix', () => {
    expect(feed(['data: {"a":1}\n\ndata: [DONE]\n\n'])).toEqual(['{"a":1}', '[DONE]'])
  })

  it('joins events cut across network reads, at any byte', () => {
    const text = 'data: {"text":"é"}\n\ndata: {"text":"ü"}\n\ndata: [DONE]\n\n'
    const bytes = Buffer.from(text)
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([
        '{"text":"é"}',
        '{"text":"ü"}',
        '[DONE]',
      ])
    }
  })

  it('accepts CRLF, comments, other fields and multi-line data', () => {
    expect(
      feed([': keep-alive\r\n\r\nevent: x\r\nid: 3\r\ndata: a\r\ndata: b\r\n\r\ndata:c\r\n\r\n']),
    ).toEqual(['a\nb', 'c'])
  })

  it('keeps an unterminated last event for end()', () => {
    expect(feed(['data: 1\n\ndata: 2'])).toEqual(['1', '2'])
  })
})
