// Edge function `send-email` (verify_jwt = true: the service role, from pg_cron or the local stack's timer, or an
// admin): drains the mail outbox.
import { handler } from "./handler.ts";

Deno.serve(handler);
