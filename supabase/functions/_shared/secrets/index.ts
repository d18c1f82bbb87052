// User secrets for the functions: an account's third-party keys, stored encrypted (public.user_secrets) and
// decrypted only here, to call the provider on the account's behalf. See docs/secrets.md.
//
//   const v0Key = await readSecret(accountId, "v0");               // the account a function has resolved
//   const v0Key = await readSecret(accountId, "v0", { userId });   // or checked here: userId must be a member
//                                                                  // (404 account_not_found), of a role with
//                                                                  // `spend` on a team (403 account_forbidden)
// Throws AppErrors: 404 secret_not_found when the account has none for the provider; 503 secrets_not_configured
// (no or bad SAASBASE_SECRETS_KEYS / SAASBASE_SECRETS_KEY_ID), 503 secrets_key_unavailable (its key is not in
// the keyring), 503 secret_unreadable (it does not decrypt: a wrong key, or a changed row). Never a plaintext
// fallback, never the value in an error or a log.
import { db } from "../db.ts";
import { dbCall } from "../db-errors.ts";
import type { UserSecret } from "../sql-results.ts";
import { openSecret, type Sealed, sealSecret } from "./cipher.ts";
import { type Keyring, keyringFrom } from "./keyring.ts";

export type { Keyring } from "./keyring.ts";

/** The keyring the function's secrets configure (503 secrets_not_configured without one). */
export function secretsKeyring(): Promise<Keyring> {
  return keyringFrom((name) => Deno.env.get(name));
}

/** Provider names: what public.user_secrets.provider's check takes. */
export const PROVIDER = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The plaintext of `accountId`'s secret for `provider`. */
export async function readSecret(
  accountId: string,
  provider: string,
  opts: { userId?: string } = {},
): Promise<string> {
  const keyring = await secretsKeyring(); // first: without keys, fail closed before touching the table
  const [row] = await dbCall(db()<{ ciphertext: Uint8Array; nonce: Uint8Array; key_id: string }[]>`
    select ciphertext, nonce, key_id
    from public.service_role_read_user_secret(${accountId}, ${opts.userId ?? null}, ${provider})`);
  const sealed: Sealed = {
    ciphertext: new Uint8Array(row.ciphertext),
    nonce: new Uint8Array(row.nonce),
    keyId: row.key_id,
  };
  return await openSecret(keyring, { accountId, provider }, sealed);
}

/** What clients see of a stored secret (public.user_secret): never its value. */
export type SecretInfo = UserSecret;

/** Stores `value` as the secret for `provider` of the account `userId` acts for (`account`: null for their
 * personal one; a team's takes the `manage_team` right, checked in SQL with the write). Encrypted here, under
 * the current key, bound to the account the SQL resolves. */
export async function storeSecret(
  userId: string,
  account: string | null,
  provider: string,
  value: string,
): Promise<SecretInfo> {
  const keyring = await secretsKeyring();
  // The ciphertext is bound to the account id, which for a null `account` is the user's personal one.
  const accountId = account ?? userId;
  const sealed = await sealSecret(keyring, { accountId, provider }, value);
  const [row] = await dbCall(db()<SecretInfo[]>`
    select provider, last4, created_by, created_at, updated_at
    from public.service_role_put_user_secret(${accountId}, ${userId}, ${provider}, ${sealed.ciphertext},
      ${sealed.nonce}, ${sealed.keyId}, ${value.slice(-4)})`);
  return row;
}
