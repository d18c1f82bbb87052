// The local stack's key for user secrets (supabase/functions/_shared/secrets/): made once per state folder and
// kept there (.saasbase/secrets-keys.json, readable by its owner alone), so `npm run dev` encrypts and decrypts
// out of the box and what it stored stays readable across restarts. A SAASBASE_SECRETS_KEYS of one's own (in
// supabase/functions/.env, or a test's function env) wins; hosted projects set theirs with `supabase secrets set`.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface SecretsKeys {
  SAASBASE_SECRETS_KEYS: string;
  SAASBASE_SECRETS_KEY_ID: string;
}

interface KeyFile {
  current: string;
  keys: Record<string, string>;
}

/** The key file's keys as function secrets, made (a new random 32-byte key, id `local-1`) when missing. */
export function localSecretsKeys(file: string): SecretsKeys {
  if (!existsSync(file)) {
    const made: KeyFile = { current: "local-1", keys: { "local-1": randomBytes(32).toString("base64") } };
    mkdirSync(dirname(file), { recursive: true });
    // wx: two stacks starting on one folder at once keep the first one's key.
    try {
      writeFileSync(file, JSON.stringify(made, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    chmodSync(file, 0o600);
  }
  const saved = JSON.parse(readFileSync(file, "utf8")) as KeyFile;
  if (typeof saved.current !== "string" || !saved.keys || typeof saved.keys[saved.current] !== "string") {
    throw new Error(`${file} is not a secrets key file ({ "current": id, "keys": { id: base64 } }); delete it to make a new key ` +
      "(the secrets stored with the old one become unreadable)");
  }
  return { SAASBASE_SECRETS_KEYS: JSON.stringify(saved.keys), SAASBASE_SECRETS_KEY_ID: saved.current };
}
