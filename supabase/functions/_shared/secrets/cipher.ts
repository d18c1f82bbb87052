// AES-256-GCM for user secrets (WebCrypto). A fresh random 96-bit nonce per encryption; GCM's 128-bit tag makes
// any change to the ciphertext, the nonce or the tag fail decryption. The associated data binds a ciphertext to
// its row (account id and provider): copied onto another account's or provider's row, it does not decrypt, so
// someone able to write the table (but without the key) cannot make one account's key be used for another.
import { ServiceUnavailableError } from "../errors.ts";
import type { Keyring } from "./keyring.ts";

export interface Sealed {
  /** The ciphertext with GCM's 16-byte tag at its end. */
  ciphertext: Uint8Array<ArrayBuffer>;
  /** 12 random bytes. */
  nonce: Uint8Array<ArrayBuffer>;
  /** The keyring entry it was encrypted under. */
  keyId: string;
}

/** Where a secret lives: what its ciphertext is bound to. */
export interface SecretRow {
  accountId: string;
  provider: string;
}

function associatedData(row: SecretRow): Uint8Array<ArrayBuffer> {
  // NUL-separated: neither part can hold one (a uuid; a provider of [a-z0-9_-]), so no two rows share it.
  return new TextEncoder().encode(`saasbase.user_secrets.v1\0${row.accountId.toLowerCase()}\0${row.provider}`);
}

/** `value` encrypted under the keyring's current key, for `row`. */
export async function sealSecret(keyring: Keyring, row: SecretRow, value: string): Promise<Sealed> {
  const key = keyring.keys.get(keyring.currentId)!;
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: associatedData(row), tagLength: 128 },
      key,
      new TextEncoder().encode(value),
    ),
  );
  return { ciphertext, nonce, keyId: keyring.currentId };
}

/** The value `sealed` holds for `row`. 503 secrets_key_unavailable when its key is not in the keyring, 503
 * secret_unreadable when it does not decrypt (a wrong key under that id, or a changed ciphertext, nonce, tag or
 * row: GCM cannot tell these apart, and none of them may yield a value). */
export async function openSecret(keyring: Keyring, row: SecretRow, sealed: Sealed): Promise<string> {
  const key = keyring.keys.get(sealed.keyId);
  if (!key) {
    throw new ServiceUnavailableError(
      `The key this secret was stored under (${sealed.keyId}) is not in SAASBASE_SECRETS_KEYS`,
      "secrets_key_unavailable",
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(sealed.nonce), additionalData: associatedData(row), tagLength: 128 },
      key,
      new Uint8Array(sealed.ciphertext),
    );
  } catch {
    throw new ServiceUnavailableError(
      `The stored secret does not decrypt under key ${sealed.keyId} (a wrong key, or a changed row); store it again`,
      "secret_unreadable",
    );
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(plain);
}
