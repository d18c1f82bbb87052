// Edge function `stripe-webhook` (verify_jwt = false: Stripe signs its requests instead).
import { handler } from "./handler.ts";

Deno.serve(handler);
