// The local stack's Ed25519 key for signed license files (the licenses function): made once per state folder and
// kept there (.saasbase/license-signing-key.json, readable by its owner alone), so `npm run dev` signs license
// files out of the box and files it signed stay verifiable across restarts. A SAASBASE_LICENSE_SIGNING_KEY of one's
// own (in supabase/functions/.env, or a test's function env) wins; hosted projects set theirs with `supabase
// secrets set` (docs/licenses.md).
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

interface KeyFile {
  /** PKCS#8 DER, base64: the function secret's value. */
  private_key: string;
  /** The 32 raw bytes of the public key, base64url: what apps verify license files with. */
  public_key: string;
}

/** The key file's key as the function secret, and its public key; made when missing. */
export function localLicenseSigningKey(file: string): { SAASBASE_LICENSE_SIGNING_KEY: string; publicKey: string } {
  if (!existsSync(file)) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const made: KeyFile = {
      private_key: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
      public_key: publicKey.export({ format: "jwk" }).x!,
    };
    mkdirSync(dirname(file), { recursive: true });
    // wx: two stacks starting on one folder at once keep the first one's key.
    try {
      writeFileSync(file, JSON.stringify(made, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    chmodSync(file, 0o600);
  }
  const saved = JSON.parse(readFileSync(file, "utf8")) as Partial<KeyFile>;
  if (typeof saved.private_key !== "string" || typeof saved.public_key !== "string") {
    throw new Error(`${file} is not a license signing key file ({ "private_key", "public_key" }); delete it to make a ` +
      "new key (license files signed with the old one no longer verify)");
  }
  return { SAASBASE_LICENSE_SIGNING_KEY: saved.private_key, publicKey: saved.public_key };
}
