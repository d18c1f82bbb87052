// Edge function `checkout` (verify_jwt = true): Stripe Checkout for plans and credits.
import { handler } from "./handler.ts";

Deno.serve(handler);
