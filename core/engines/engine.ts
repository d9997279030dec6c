// An engine's flags from Infergate's engine-agnostic settings. One mapper per engine: vLLM now;
// SGLang or TensorRT-LLM would each add a module with the same shape.
import type { Config } from '../config/schema.ts'

export interface EngineMapper {
  readonly name: Config['engine']['name']
  /** The command-line arguments that serve `config.model` with `config.engine`'s settings. */
  args(config: Config): string[]
}
