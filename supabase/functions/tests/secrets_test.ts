// User secrets' crypto (_shared/secrets/): AES-256-GCM round trips under the current key, and every way a stored
// secret can go wrong fails closed with a 503 code and no value: a changed ciphertext, nonce or tag, a key id not
// in the keyring, a wrong key under the right id, a ciphertext copied onto another account's or provider's row,
// and a keyring missing or malformed. Then readSecret against the real database (npm test's throwaway one).
import assert from "node:assert/strict";
import postgres from "postgres";
import { AppError } from "../_shared/errors.ts";
import { openSecret, type Sealed, sealSecret } from "../_shared/secrets/cipher.ts";
import { keyringFrom, newKeyBase64 } from "../_shared/secrets/keyring.ts";

const A = "11111111-1111-4111-8111-111111111111";
const B = "22222222-2222-4222-8222-222222222222";
const V0 = "v1:abcdefgh:0123456789ABCDEFghij";

const env = (vars: Record<string, string>) => (name: string) => vars[name];
const ring = (keys: Record<string, string>, current: string) =>
  keyringFrom(env({ SAASBASE_SECRETS_KEYS: JSON.stringify(keys), SAASBASE_SECRETS_KEY_ID: current }));

const K1 = newKeyBase64();
const K2 = newKeyBase64();

async function refused(p: Promise<unknown>, code: string, status = 503) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, `an AppError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.ok(!err.message.includes(V0), "the value is in no message");
    return true;
  });
}

/** `sealed` with one byte of `field` flipped. */
function flipped(sealed: Sealed, field: "ciphertext" | "nonce", at: number): Sealed {
  const copy = new Uint8Array(sealed[field]);
  copy[at] ^= 0x01;
  return { ...sealed, [field]: copy };
}

Deno.test("round trip: sealed under the current key, opened to the same value; the ciphertext is not the value", async () => {
  const keyring = await ring({ k1: K1 }, "k1");
  const sealed = await sealSecret(keyring, { accountId: A, provider: "v0" }, V0);
  assert.equal(sealed.keyId, "k1");
  assert.equal(sealed.nonce.length, 12);
  assert.equal(sealed.ciphertext.length, V0.length + 16, "the value's bytes and GCM's 16-byte tag");
  assert.ok(!new TextDecoder().decode(sealed.ciphertext).includes(V0.slice(3, 11)));
  assert.equal(await openSecret(keyring, { accountId: A, provider: "v0" }, sealed), V0);
  // A fresh nonce each time: the same value twice is two different ciphertexts.
  const again = await sealSecret(keyring, { accountId: A, provider: "v0" }, V0);
  assert.notDeepEqual(again.nonce, sealed.nonce);
  assert.notDeepEqual(again.ciphertext, sealed.ciphertext);
  // Unicode survives (values are ASCII through the API, but the cipher does not care).
  const uni = await sealSecret(keyring, { accountId: A, provider: "x" }, "clé-🔑");
  assert.equal(await openSecret(keyring, { accountId: A, provider: "x" }, uni), "clé-🔑");
});

Deno.test("a changed ciphertext, tag or nonce does not decrypt: secret_unreadable", async () => {
  const keyring = await ring({ k1: K1 }, "k1");
  const row = { accountId: A, provider: "v0" };
  const sealed = await sealSecret(keyring, row, V0);
  const tagAt = sealed.ciphertext.length - 1;
  await refused(openSecret(keyring, row, flipped(sealed, "ciphertext", 0)), "secret_unreadable");
  await refused(openSecret(keyring, row, flipped(sealed, "ciphertext", tagAt)), "secret_unreadable");
  await refused(openSecret(keyring, row, flipped(sealed, "nonce", 5)), "secret_unreadable");
  await refused(openSecret(keyring, row, { ...sealed, ciphertext: sealed.ciphertext.slice(0, -1) }), "secret_unreadable");
  await refused(openSecret(keyring, row, { ...sealed, ciphertext: new Uint8Array(0) }), "secret_unreadable");
});

Deno.test("a ciphertext copied onto another row (account or provider) does not decrypt", async () => {
  const keyring = await ring({ k1: K1 }, "k1");
  const sealed = await sealSecret(keyring, { accountId: A, provider: "v0" }, V0);
  await refused(openSecret(keyring, { accountId: B, provider: "v0" }, sealed), "secret_unreadable");
  await refused(openSecret(keyring, { accountId: A, provider: "openai" }, sealed), "secret_unreadable");
  // The account id is compared as a uuid: its case does not matter.
  assert.equal(await openSecret(keyring, { accountId: A.toUpperCase(), provider: "v0" }, sealed), V0);
});

Deno.test("a key id not in the keyring: secrets_key_unavailable; a wrong key under the right id: secret_unreadable", async () => {
  const old = await ring({ k1: K1 }, "k1");
  const sealed = await sealSecret(old, { accountId: A, provider: "v0" }, V0);
  await refused(openSecret(await ring({ k2: K2 }, "k2"), { accountId: A, provider: "v0" }, sealed), "secrets_key_unavailable");
  await refused(openSecret(await ring({ k1: K2 }, "k1"), { accountId: A, provider: "v0" }, sealed), "secret_unreadable");
  // Rotation's premise: with both keys, old secrets open and new ones are sealed under the current one.
  const both = await ring({ k1: K1, k2: K2 }, "k2");
  assert.equal(await openSecret(both, { accountId: A, provider: "v0" }, sealed), V0);
  assert.equal((await sealSecret(both, { accountId: A, provider: "v0" }, V0)).keyId, "k2");
});

Deno.test("no keyring, or a malformed one: secrets_not_configured (fails closed)", async () => {
  const cases: Record<string, string>[] = [
    {},
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ k1: K1 }) },
    { SAASBASE_SECRETS_KEY_ID: "k1" },
    { SAASBASE_SECRETS_KEYS: "not json", SAASBASE_SECRETS_KEY_ID: "k1" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify([K1]), SAASBASE_SECRETS_KEY_ID: "0" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ k1: K1 }), SAASBASE_SECRETS_KEY_ID: "k2" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ k1: "c2hvcnQ=" }), SAASBASE_SECRETS_KEY_ID: "k1" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ k1: "not base64!" }), SAASBASE_SECRETS_KEY_ID: "k1" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ k1: 42 }), SAASBASE_SECRETS_KEY_ID: "k1" },
    { SAASBASE_SECRETS_KEYS: JSON.stringify({ "bad id": K1 }), SAASBASE_SECRETS_KEY_ID: "bad id" },
  ];
  for (const vars of cases) await refused(keyringFrom(env(vars)), "secrets_not_configured");
});

Deno.test({
  name: "readSecret: decrypts what storeSecret wrote; 404 for none, 404/403 for a user who may not, 503 without keys",
  ignore: !Deno.env.get("SUPABASE_DB_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db } = await import("../_shared/db.ts");
    const { readSecret, storeSecret } = await import("../_shared/secrets/index.ts");
    const keys = { SAASBASE_SECRETS_KEYS: JSON.stringify({ t1: K1 }), SAASBASE_SECRETS_KEY_ID: "t1" };
    for (const [k, v] of Object.entries(keys)) Deno.env.set(k, v);
    const sql = db();
    const user = crypto.randomUUID();
    const stranger = crypto.randomUUID();
    // Users are made as GoTrue makes them: as supabase_auth_admin (the sign-up triggers make their accounts).
    const url = new URL(Deno.env.get("SUPABASE_DB_URL")!);
    url.username = "supabase_auth_admin";
    url.password = "postgres";
    const auth = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await auth.begin(async (tx) => {
      for (const id of [user, stranger]) {
        await tx`insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
          values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated', ${`${id}@test.local`}, '{}', '{}', now(), now())`;
      }
    });
    try {
      const info = await storeSecret(user, null, "v0", V0);
      assert.equal(info.last4, V0.slice(-4));
      const [row] = await sql`select ciphertext, key_id from public.user_secrets where account_id = ${user} and provider = 'v0'`;
      assert.equal(row.key_id, "t1");
      assert.ok(!new TextDecoder().decode(row.ciphertext).includes(V0), "the table holds no plaintext");

      assert.equal(await readSecret(user, "v0"), V0);
      assert.equal(await readSecret(user, "v0", { userId: user }), V0);
      await refused(readSecret(user, "openai"), "secret_not_found", 404);
      await refused(readSecret(user, "v0", { userId: stranger }), "account_not_found", 404);

      // The row's ciphertext put onto the stranger's row: bound to its account, it does not decrypt there.
      await sql`insert into public.user_secrets (account_id, provider, ciphertext, nonce, key_id, last4)
        select ${stranger}, provider, ciphertext, nonce, key_id, last4 from public.user_secrets
        where account_id = ${user} and provider = 'v0'`;
      await refused(readSecret(stranger, "v0"), "secret_unreadable");

      Deno.env.delete("SAASBASE_SECRETS_KEYS");
      await refused(readSecret(user, "v0"), "secrets_not_configured");
      await refused(storeSecret(user, null, "v0", V0), "secrets_not_configured");
    } finally {
      for (const k of Object.keys(keys)) Deno.env.delete(k);
      await auth`delete from auth.users where id in (${user}, ${stranger})`;
      await auth.end();
    }
  },
});
