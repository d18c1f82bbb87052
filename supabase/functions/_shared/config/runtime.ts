// The config's defaults for the runtime settings that have no other home in it (docs/runtime-settings.md):
// maintenance mode and the announcement. Admins override them, and the catalog values (feature costs, free
// allowances, chat prices, the AI fallback order), at runtime with versions: public.admin_set_runtime_settings.
import { z } from "zod";

export const runtimeSchema = z.object({
  maintenance: z.object({
    /** On: the product's functions answer 503 `maintenance` (webhooks and health go on). */
    enabled: z.boolean().default(false),
    message: z.string().max(500).default("We are doing some maintenance and will be back shortly."),
  }).prefault({}),
  /** A message every client may show (public.get_runtime_status); empty: none. */
  announcement: z.object({
    message: z.string().max(1000).default(""),
    level: z.enum(["info", "warning", "critical"]).default("info"),
  }).prefault({}),
});
