// Edge function `credits` (verify_jwt = true): balance, quotas and charges for server-side features.
import { handler } from "./handler.ts";

Deno.serve(handler);
