// Edge function `seats` (verify_jwt = true): the seat sync of per-seat plans (_shared/billing/seats.ts).
import { handler } from "./handler.ts";

Deno.serve(handler);
