// Edge function `polar-webhook` (verify_jwt = false: Polar signs its requests instead, Standard Webhooks).
import { handler } from "./handler.ts";

Deno.serve(handler);
