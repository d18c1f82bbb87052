// Edge function `stripe-reconcile` (verify_jwt = true; admins or the service role): applies what Stripe has on
// record and our mirror misses.
import { handler } from "./handler.ts";

Deno.serve(handler);
