// Edge function `connect-onboarding` (verify_jwt = true): Stripe Connect onboarding for referral payouts.
import { handler } from "./handler.ts";

Deno.serve(handler);
