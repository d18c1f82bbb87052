// Edge function `auth-email-hook` (verify_jwt = false: Supabase Auth signs its hook calls with the hook's
// secret, Standard Webhooks, instead).
import { handler } from "./handler.ts";

Deno.serve(handler);
