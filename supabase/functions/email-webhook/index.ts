// Edge function `email-webhook` (verify_jwt = false: providers sign their requests, and a mail client follows an
// unsubscribe link without any token).
import { handler } from "./handler.ts";

Deno.serve(handler);
