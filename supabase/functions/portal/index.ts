// Edge function `portal` (verify_jwt = true): the Stripe billing portal.
import { handler } from "./handler.ts";

Deno.serve(handler);
