// The validated product config. Importing this module validates saasbase.config.ts once; an invalid config
// throws a ConfigError naming each bad field, so a function never serves with a broken config.
import raw from "./saasbase.config.ts";
import { parseConfig, type ProductConfig } from "./config-schema.ts";

export const config: ProductConfig = parseConfig(raw);
export type { ProductConfig };
