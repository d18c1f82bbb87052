// API keys from a frontend (a "Developer settings" page): the API keys SQL API
// (supabase/migrations/20261207000300_api_keys.sql) through supabase-js `.rpc()`, each answering
// `{ data, error }` with `error` a SaasbaseError (`invalid_api_key_input`, `api_key_not_found`,
// `api_key_limit_reached`, `account_not_found`, ...). The key itself is in `create`'s answer only: show it
// once, it is stored hashed. Programs then send it as `Authorization: Bearer sbk_live_...` or `x-api-key`
// (docs/api-keys.md).
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../database.types.ts";
import type { ApiKeyCreated, ApiKeyInfo } from "../../supabase/functions/_shared/sql-results.ts";
import { rpcResult } from "./errors.ts";

export type { ApiKeyCreated, ApiKeyInfo };


export interface ApiKeyCreateParams {
  name: string;
  /** Function / feature names the key may use (e.g. ["mcp"]); none = every function. */
  scopes?: string[];
  /** When the key stops working (ISO 8601); none = never. */
  expires_at?: string;
  /** A team the key is for (its id); default: the personal account. */
  account?: string;
}

export function apiKeysClient(supabase: SupabaseClient<Database>) {
  return {
    /** Makes a key for the signed-in user on their personal account or `account`; `data.key` is shown this once. */
    create: (params: ApiKeyCreateParams) =>
      rpcResult<ApiKeyCreated>(supabase.rpc("create_api_key", {
        name: params.name,
        // Absent arguments take the SQL defaults (all scopes, no expiry, the personal account).
        ...(params.scopes ? { scopes: params.scopes } : {}),
        ...(params.expires_at ? { expires_at: params.expires_at } : {}),
        ...(params.account ? { account: params.account } : {}),
      })),
    /** The keys the caller may see, newest first (prefix, last 4, scopes, expiry, last use; never the key):
     * their own, or `account`'s (all of them for a member manager), or `user_id`'s (an admin's view). */
    list: (params: { account?: string; user_id?: string } = {}) =>
      rpcResult<ApiKeyInfo[]>(supabase.rpc("list_api_keys", { ...params })),
    /** Renames a key (its member, a member manager of its account, an admin). */
    rename: (key_id: string, name: string) => rpcResult<ApiKeyInfo>(supabase.rpc("rename_api_key", { key_id, name })),
    /** Revokes a key: its next request gets 401. Revoking it again changes nothing. */
    revoke: (key_id: string) => rpcResult<ApiKeyInfo>(supabase.rpc("revoke_api_key", { key_id })),
  };
}
