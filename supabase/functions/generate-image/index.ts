// Edge function `generate-image` (verify_jwt = true): images from prompts, stored in Storage (docs/images.md).
import { handler } from "./handler.ts";

Deno.serve(handler);
