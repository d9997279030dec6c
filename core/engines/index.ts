import type { Config } from '../config/schema.ts'
import type { EngineMapper } from './engine.ts'
import { vllm } from './vllm.ts'

const MAPPERS: Record<Config['engine']['name'], EngineMapper> = { vllm }

export const engineMapper = (name: Config['engine']['name']): EngineMapper => MAPPERS[name]
