// Key rotation: every secret not under the keyring's current key is decrypted with its own key and written back
// under the current one, a row at a time (no long transaction, no lock held across rows: the functions go on
// reading and writing throughout). Each write is a compare-and-swap on the row's nonce, which every encryption
// draws afresh: a value stored while the rotation had the row in hand is newer (and already under the current
// key) and is left as it is, never overwritten with the old value. Idempotent: a second run finds nothing to do.
// Runs in the `secrets` function (POST /secrets/rotate, service role) and in `npm run secrets:rotate` (Node).
import type postgres from "postgres";
import { AppError } from "../errors.ts";
import { openSecret, sealSecret } from "./cipher.ts";
import type { Keyring } from "./keyring.ts";

export interface RotationReport {
  /** The key id every secret is now meant to be under. */
  key_id: string;
  /** Secrets re-encrypted under it. */
  rotated: number;
  /** Secrets stored again (or deleted) while the rotation held them: already under the current key. */
  changed_meanwhile: number;
  /** Secrets that could not be read (their key is not in the keyring, or they do not decrypt): left as they are. */
  failed: { account_id: string; provider: string; key_id: string; code: string }[];
  /** Secrets still under another key once done (the failed ones, and any written meanwhile by a function
   * still configured with the old current key): run again once every function has the new configuration. */
  remaining: number;
}

export interface RotationOptions {
  /** Rows read per query (default 100). */
  batchSize?: number;
  /** Called with each secret once it is decrypted, before it is written back (tests race writes against it). */
  beforeWrite?: (row: { account_id: string; provider: string }) => Promise<void>;
}

interface Row {
  account_id: string;
  provider: string;
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  key_id: string;
}

export async function rotateSecrets(
  sql: postgres.Sql,
  keyring: Keyring,
  opts: RotationOptions = {},
): Promise<RotationReport> {
  const batchSize = opts.batchSize ?? 100;
  const report: RotationReport = { key_id: keyring.currentId, rotated: 0, changed_meanwhile: 0, failed: [], remaining: 0 };
  // Keyset pagination over the primary key: rows that fail stay behind the cursor instead of being read again.
  let after: { account_id: string; provider: string } | undefined;
  for (;;) {
    const rows = await sql<Row[]>`
      select account_id, provider, ciphertext, nonce, key_id from public.user_secrets
      where key_id <> ${keyring.currentId}
        ${after ? sql`and (account_id, provider) > (${after.account_id}::uuid, ${after.provider})` : sql``}
      order by account_id, provider limit ${batchSize}`;
    if (rows.length === 0) break;
    for (const r of rows) {
      const row = { accountId: r.account_id, provider: r.provider };
      let value: string;
      try {
        value = await openSecret(keyring, row, { ciphertext: new Uint8Array(r.ciphertext), nonce: new Uint8Array(r.nonce), keyId: r.key_id });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        report.failed.push({ account_id: r.account_id, provider: r.provider, key_id: r.key_id, code: err.code });
        continue;
      }
      await opts.beforeWrite?.({ account_id: r.account_id, provider: r.provider });
      const sealed = await sealSecret(keyring, row, value);
      // updated_at stays: it is when the user stored the value, which a rotation does not change.
      const written = await sql`
        update public.user_secrets set ciphertext = ${sealed.ciphertext}, nonce = ${sealed.nonce}, key_id = ${sealed.keyId}
        where account_id = ${r.account_id} and provider = ${r.provider} and nonce = ${r.nonce}`;
      if (written.count === 1) report.rotated++;
      else report.changed_meanwhile++;
    }
    after = rows[rows.length - 1];
  }
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.user_secrets where key_id <> ${keyring.currentId}`;
  report.remaining = n;
  return report;
}
