// Edge function `chat` (verify_jwt = true; the anon key passes, for anonymous sessions): metered AI chat.
import { handler } from "./handler.ts";

Deno.serve(handler);
