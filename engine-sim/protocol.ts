// The OpenAI-compatible request/response shapes engine-sim speaks, as vLLM serves them:
// request validation with vLLM-style errors, and the SSE chunks of a streamed answer.

export type Api = 'completions' | 'chat'

export class ApiError extends Error {
  readonly status: number
  readonly type: string
  readonly param: string | null
  constructor(status: number, message: string, param: string | null = null) {
    super(message)
    this.status = status
    this.type = status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError'
    this.param = param
  }

  body(): string {
    return JSON.stringify({
      error: { message: this.message, type: this.type, param: this.param, code: this.status },
    })
  }
}

export interface SimRequest {
  api: Api
  model: string
  promptTokens: number
  maxTokens: number
  ignoreEos: boolean
  stream: boolean
  includeUsage: boolean
}

export interface ProtocolLimits {
  model: string
  maxModelLen: number
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length

function contentTokens(content: unknown, where: string): number {
  if (typeof content === 'string') return words(content)
  if (content === null || content === undefined) return 0
  if (Array.isArray(content)) {
    let n = 0
    for (const part of content as { type?: unknown; text?: unknown }[]) {
      if (part?.type !== 'text' || typeof part.text !== 'string') {
        throw new ApiError(400, `${where}: only text content parts are supported`, 'messages')
      }
      n += words(part.text)
    }
    return n
  }
  throw new ApiError(400, `${where}.content: expected a string or an array of content parts`, 'messages')
}

function positiveInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ApiError(400, `${key} must be at least 1, got ${JSON.stringify(v)}.`, key)
  }
  return v
}

/** Validates a parsed JSON body the way vLLM's request models do. Token counts are words. */
export function parseRequest(api: Api, raw: unknown, limits: ProtocolLimits): SimRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ApiError(400, 'The request body must be a JSON object.')
  }
  const body = raw as Record<string, unknown>
  if (typeof body.model !== 'string') throw new ApiError(400, 'model: Field required', 'model')
  if (body.model !== limits.model) {
    throw new ApiError(404, `The model \`${body.model}\` does not exist.`, 'model')
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw new ApiError(400, 'stream: Input should be a valid boolean', 'stream')
  }
  const stream = body.stream === true
  const so = body.stream_options as { include_usage?: unknown } | undefined | null
  if (so !== undefined && so !== null && !stream) {
    throw new ApiError(400, 'Stream options can only be defined when `stream=True`.', 'stream_options')
  }
  let promptTokens: number
  if (api === 'chat') {
    const messages = body.messages
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new ApiError(400, 'messages: expected a non-empty list of messages', 'messages')
    }
    promptTokens = 3
    messages.forEach((m: { role?: unknown; content?: unknown }, i) => {
      if (
        typeof m?.role !== 'string' ||
        !['system', 'user', 'assistant', 'tool', 'developer'].includes(m.role)
      ) {
        throw new ApiError(
          400,
          `messages[${i}].role: expected system, user, assistant, tool or developer`,
          'messages',
        )
      }
      // Chat templates add a few tokens of framing per message.
      promptTokens += 4 + contentTokens(m.content, `messages[${i}]`)
    })
  } else {
    const p = body.prompt
    if (typeof p === 'string') promptTokens = words(p)
    else if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0)) {
      promptTokens = p.length
    } else if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') promptTokens = words(p[0])
    else throw new ApiError(400, 'prompt: expected a string or a list of token ids', 'prompt')
    if (promptTokens === 0) throw new ApiError(400, 'Prompt cannot be empty', 'prompt')
  }
  const requested =
    api === 'chat'
      ? (positiveInt(body, 'max_completion_tokens') ?? positiveInt(body, 'max_tokens'))
      : positiveInt(body, 'max_tokens')
  if (promptTokens >= limits.maxModelLen || (requested ?? 0) + promptTokens > limits.maxModelLen) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${limits.maxModelLen} tokens. However, you requested ${
        (requested ?? 0) + promptTokens
      } tokens (${promptTokens} in the messages, ${requested ?? 0} in the completion). Please reduce the length of the messages or completion.`,
      'max_tokens',
    )
  }
  // vLLM's defaults: 16 tokens for completions (OpenAI's), the rest of the context for chat.
  const maxTokens = requested ?? (api === 'chat' ? limits.maxModelLen - promptTokens : 16)
  if (body.ignore_eos !== undefined && typeof body.ignore_eos !== 'boolean') {
    throw new ApiError(400, 'ignore_eos: Input should be a valid boolean', 'ignore_eos')
  }
  return {
    api,
    model: body.model,
    promptTokens,
    maxTokens,
    ignoreEos: body.ignore_eos === true,
    stream,
    includeUsage: stream && so?.include_usage === true,
  }
}

/** Pre-rendered pieces of one streamed answer, so each token costs a string concatenation. */
export class ChunkWriter {
  private readonly head: string
  private readonly api: Api
  constructor(api: Api, id: string, model: string, created: number) {
    this.api = api
    const object = api === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    this.head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`
  }

  /** vLLM's chat stream opens with the assistant role, sent with the first token. */
  role(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`
  }

  /** `usage`: a `,"usage":{…}` field (usageField) for servers that send it on this chunk. */
  token(text: string, finish: 'length' | 'stop' | null, usage = ''): string {
    const fr = finish ? `"${finish}"` : 'null'
    const t = JSON.stringify(text)
    return this.api === 'chat'
      ? `${this.head}{"index":0,"delta":{"content":${t}},"logprobs":null,"finish_reason":${fr}}]${usage}}\n\n`
      : `${this.head}{"index":0,"text":${t},"logprobs":null,"finish_reason":${fr},"stop_reason":null}]${usage}}\n\n`
  }

  /** vLLM's trailing usage chunk: no choices, only the counts. */
  usage(prompt: number, completion: number): string {
    return `${this.head}]${this.usageField(prompt, completion)}}\n\n`
  }

  usageField(prompt: number, completion: number): string {
    return `,"usage":{"prompt_tokens":${prompt},"total_tokens":${prompt + completion},"completion_tokens":${completion}}`
  }

  static done(): string {
    return 'data: [DONE]\n\n'
  }
}

export function completeResponse(
  api: Api,
  id: string,
  model: string,
  created: number,
  text: string,
  finish: 'length' | 'stop',
  prompt: number,
  completion: number,
): string {
  const choice =
    api === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }
      : { index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }
  return JSON.stringify({
    id,
    object: api === 'chat' ? 'chat.completion' : 'text_completion',
    created,
    model,
    choices: [choice],
    usage: { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion },
  })
}
