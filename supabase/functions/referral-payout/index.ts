// Edge function `referral-payout` (verify_jwt = true; admins or the service role): pays approved cash-outs.
import { handler } from "./handler.ts";

Deno.serve(handler);
