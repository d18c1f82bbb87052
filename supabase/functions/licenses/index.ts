// Edge function `licenses` (verify_jwt = false: a desktop app's license key is the credential; owners' and
// admins' routes verify their caller in the function): validation, machines, signed license files.
import { handler } from "./handler.ts";

Deno.serve(handler);
