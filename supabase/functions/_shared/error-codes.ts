// Every stable error code the backend answers with, and the HTTP status it comes with: the functions' JSON
// errors (`{ error: { code, message } }`) and the SQL API's refusals (SQLSTATE PT<status>, the code in
// DETAIL, which PostgREST answers with that status). One list for both sides: AppError takes only these
// codes (deno check), tests/error-codes.test.ts checks the migrations' and the functions' codes and statuses
// against it, and src/client hands it to frontends. Clients match on codes, never on messages.
export const ERROR_CODES = {
  /** 400: malformed request: not JSON, or a Stripe webhook whose signature does not match or whose signed
   * payload is no event. */
  bad_request: 400,
  invalid_json: 400,
  invalid_signature: 400,
  invalid_event: 400,
  /** 401: not signed in (the SQL API), or only the anon key where a user's session is needed (functions). */
  unauthorized: 401,
  not_authenticated: 401,
  user_required: 401,
  /** 401: the access token is missing, malformed or expired: refresh the session and retry. */
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  /** 401: the chat function needs a signed-in user, or the anon key plus a session_id. */
  user_or_session_required: 401,
  /** 401: the API key (sbk_live_...) is unknown, revoked or expired (the three are not told apart), or sent
   * where keys are not read (the `apikey` header, or Authorization without `Bearer`). */
  invalid_api_key: 401,
  /** 402: the wallet cannot pay for this; buy credits or upgrade. */
  insufficient_credits: 402,
  /** 402: this spend would pass your monthly spending cap on the team's wallet (its owner or an admin sets it). */
  spend_cap_reached: 402,
  /** 402: a cash-out above the referral cash available. */
  insufficient_cash: 402,
  /** 403: an admin-only call; a change to the append-only ledger. */
  forbidden: 403,
  admin_only: 403,
  ledger_append_only: 403,
  /** 403: the reservation belongs to an operation in progress on the server (a chat answer); it closes with it. */
  reservation_server_held: 403,
  /** 403: your role in the account (X-Account-Id, or the SQL API's `account`) does not allow this. */
  account_forbidden: 403,
  /** 403: an email invitation for another (or an unconfirmed) address, an anonymous user, or someone removed
   * from the team since the invitation was made. */
  invitation_forbidden: 403,
  /** 403: the API key's scopes do not include this function or feature. */
  api_key_scope: 403,
  /** 404: no such route, feature, price, pack, plan, conversation, reservation, cash-out, user or wallet. */
  not_found: 404,
  route_not_found: 404,
  unknown_feature: 404,
  unknown_price: 404,
  unknown_pack: 404,
  unknown_plan: 404,
  /** 404: a chat persona or model the catalog does not hold (run the config sync). */
  unknown_persona: 404,
  unknown_model: 404,
  /** 404: the conversation does not exist or is not the caller's. */
  conversation_not_found: 404,
  reservation_not_found: 404,
  cashout_not_found: 404,
  user_not_found: 404,
  wallet_not_found: 404,
  /** 404: no such account, or the caller is not a member of it (the two are not told apart). */
  account_not_found: 404,
  /** 404: no invitation has this token (or id, among the caller's teams). */
  invitation_not_found: 404,
  /** 404: the user is no member of this team. */
  member_not_found: 404,
  /** 404: the account has no secret stored for this provider (PUT /secrets/:provider stores one). */
  secret_not_found: 404,
  /** 404: no installation of the caller's with this id in the acting account. */
  installation_not_found: 404,
  /** 404: the billing portal needs a first checkout. */
  no_customer: 404,
  /** 404: no such API key, or not one the caller may manage. */
  api_key_not_found: 404,
  /** 405: the route exists, the method does not. */
  method_not_allowed: 405,
  /** 413: the body is larger than the route takes (256 kB of JSON; 1 MB for Stripe's webhook). */
  payload_too_large: 413,
  /** 409: the idempotency key was used for a different request. */
  idempotency_conflict: 409,
  /** 409: the request conflicts with the current state. */
  conflict: 409,
  /** 409: already subscribed; change plans in the billing portal. */
  already_subscribed: 409,
  /** 409: a team slug in use already. */
  slug_taken: 409,
  /** 409: already a member of this team. */
  already_member: 409,
  /** 409: the team is at its plan's seat limit (plans.max_seats): upgrade to add members. */
  seat_limit_reached: 409,
  /** 409: a team keeps at least one owner: make another member owner (or transfer the ownership) first. */
  last_owner: 409,
  /** 409: a team with credits in its wallet or a live subscription is not deleted. */
  team_not_empty: 409,
  /** 409 (config sync): the config drops a team role that members still hold. */
  role_in_use: 409,
  /** 409: the reservation was settled or released already. */
  reservation_closed: 409,
  /** 409: the cash-out is not approved yet, or is closed. */
  cashout_not_approved: 409,
  cashout_closed: 409,
  /** 409: a payout run tried this cash-out without a final outcome; run the payout again before rejecting. */
  cashout_payout_unsettled: 409,
  /** 409 (webhook only, so Stripe redelivers): a refund of an invoice whose payment is not recorded yet. */
  invoice_not_recorded: 409,
  /** 409 (webhook only, so Stripe redelivers): the event's Stripe customer is linked to no user yet; it is
   * kept pending (public.stripe_events, readable by admins) and applied once the customer is linked. */
  customer_not_linked: 409,
  /** 410: the invitation was used, declined or revoked; or it expired. */
  invitation_closed: 410,
  invitation_expired: 410,
  /** 409: the member already has 100 live API keys on the account; revoke one first. */
  api_key_limit_reached: 409,
  /** 422: invalid input; `details` lists the fields, each with a message and sometimes a code of its own
   * (amount_below_minimum, amount_above_maximum, email_required). */
  validation_failed: 422,
  /** 422: a bad argument of the SQL API. */
  invalid_amount: 422,
  invalid_quantity: 422,
  invalid_idempotency_key: 422,
  invalid_expiry: 422,
  invalid_kind: 422,
  invalid_range: 422,
  invalid_role: 422,
  /** 422: a checkout's seats below the account's member count or above the plan's max_seats, or seats for a plan
   * not sold per seat. */
  invalid_seats: 422,
  /** 422: a team name or slug out of shape. */
  invalid_team: 422,
  /** 422: a team action on a personal account (no invitations, members or leaving there). */
  personal_account: 422,
  /** 422: an invitation's email address out of shape. */
  invalid_email: 422,
  /** 422: a member action that makes no sense for this member (handing the ownership to oneself). */
  invalid_member: 422,
  reason_required: 422,
  /** 422: an installation's client, version or config out of shape (the SQL API). */
  invalid_installation: 422,
  /** 422: a cash-out decision that is neither approve nor reject; a payout outcome without its transfer. */
  invalid_decision: 422,
  invalid_outcome: 422,
  below_minimum_cashout: 422,
  /** 422: an API key's name, scopes or expiry out of shape. */
  invalid_api_key_input: 422,
  /** 429: the plan's (or the anonymous) allowance for this period is used up; or too many requests from an API key or
   * client IP (the response's Retry-After header says when to retry). */
  rate_limited: 429,
  /** 500: a fault of ours; the message says nothing more. */
  internal_error: 500,
  /** 502: no AI provider answered (nothing was charged); in a chat stream's `error` event, the answer broke
   * off (not charged). */
  ai_unavailable: 502,
  ai_stream_failed: 502,
  /** 502: Stripe refused a request of ours (a state it and we disagree on); details are in the function log. */
  payment_provider_error: 502,
  /** 503: the backend is missing a secret (Stripe, AI), or a dependency is down; retrying later may work. */
  service_unavailable: 503,
  billing_not_configured: 503,
  /** 503: user secrets cannot be encrypted or read here: SAASBASE_SECRETS_KEYS / SAASBASE_SECRETS_KEY_ID are
   * missing or invalid (secrets_not_configured), the key a secret was stored under is not among them
   * (secrets_key_unavailable), or it does not decrypt under it (secret_unreadable: a wrong key, or a changed
   * row). Never a plaintext fallback: fails closed. */
  secrets_not_configured: 503,
  secrets_key_unavailable: 503,
  secret_unreadable: 503,
  /** 503: Stripe is unreachable, failing or rate-limiting us; retry shortly. */
  payment_provider_unavailable: 503,
  // Releases and downloads (the releases function, 20261207001100_releases.sql; docs/releases.md).
  /** 403: downloading this product needs a valid license key (X-License-Key). */
  license_required: 403,
  /** 403: the license is valid but does not grant what this release asks for (its entitlements). */
  release_not_allowed: 403,
  /** 404: no such product with releases (or no longer one), no such release (a draft is none to a customer),
   * or no file of the release for the platform asked for. */
  product_not_found: 404,
  release_not_found: 404,
  artifact_not_found: 404,
  /** 409: the version has a release already (build metadata aside); the platform has a file already; a
   * published release's files do not change; a release without a file is not published; only a published
   * release is yanked. */
  release_exists: 409,
  artifact_exists: 409,
  release_published: 409,
  release_has_no_artifacts: 409,
  release_not_published: 409,
  /** 410: the release was yanked (withdrawn): ask the update check for the one offered instead. */
  release_yanked: 410,
  /** 422: a version that is not semver, a pre-release on the stable channel, an unknown channel, a platform,
   * file name, policy or entitlement out of shape. */
  invalid_release: 422,
  // Storage (_shared/storage.ts): what a function answers when Supabase Storage refuses or fails.
  /** 404: the stored file (an image, a release artifact) is not there, or not the caller's. */
  object_not_found: 404,
  /** 415: the file's type is not one its bucket takes (allowed_mime_types). */
  unsupported_media_type: 415,
  /** 503: Storage could not be reached or failed; nothing was stored; retry later. */
  storage_unavailable: 503,
  // Licenses (docs/licenses.md). A key's holder is told only license_not_found for a key that is unknown or
  // malformed; validation itself answers 200 with a code (VALID, EXPIRED, ...), never one of these.
  /** 404: no license has this key (or, for its owner's routes, not one the caller may manage). */
  license_not_found: 404,
  /** 404: no such licensed product in the config. */
  license_product_not_found: 404,
  /** 404: the machine is not activated on this license (never, deactivated, or dead: activate it again). */
  machine_not_found: 404,
  /** 403: the license cannot take a machine now (revoked, suspended, expired past its grace); the message
   * names the validation code. */
  license_not_valid: 403,
  /** 409: the license is activated on as many machines as it allows: deactivate one first. */
  machine_limit_reached: 409,
  /** 409: the license is revoked: nothing more changes it. */
  license_revoked: 409,
  /** 410: the key of a license a payment issued is shown once; reset_license_key makes a new one. */
  license_key_claimed: 410,
  /** 422: a machine's fingerprint, name or platform out of shape; an admin's issue or renewal out of shape. */
  invalid_machine: 422,
  invalid_license: 422,
  /** 503: the function has no license signing key (SAASBASE_LICENSE_SIGNING_KEY): no license file is signed. */
  license_signing_not_configured: 503,
  // Images (the generate-image function, docs/images.md).
  /** 404: no such generation in the account (another user's included). */
  generation_not_found: 404,
  /** 409: a generation under this Idempotency-Key is still being made (ask again in a moment); or it cannot be
   * deleted yet. */
  generation_in_progress: 409,
  /** 409: the generation was closed otherwise already (a failed one cannot succeed). */
  generation_closed: 409,
  /** 422: the image provider refused the prompt or the image on safety grounds; nothing was charged. */
  content_refused: 422,
  /** 422: the reference image is not a PNG, JPEG or WebP image the config takes, or larger than it takes. */
  invalid_reference_image: 422,
  /** 503: this deployment has no image generation (no `images` section in the config). */
  images_not_configured: 503,
  /** Email (20261207001200_email.sql, the send-email worker): a claim without a worker name or with a batch or
   * lease out of bounds, a completion without the provider's message id, a retry policy out of bounds, a delivery
   * event of a provider or type not stored. */
  invalid_worker: 422,
  invalid_batch: 422,
  invalid_message_id: 422,
  invalid_retry_policy: 422,
  invalid_email_event: 422,
  /** 400: an unsubscribe link whose token is not one this backend signed. */
  invalid_unsubscribe_token: 400,
  /** 503: the mail provider's webhook secret is not set (RESEND_WEBHOOK_SECRET, POSTMARK_WEBHOOK_*,
   * SENDGRID_WEBHOOK_PUBLIC_KEY): the provider retries later. */
  email_not_configured: 503,

  // Notifications (the auth-email-hook function, docs/notifications.md).
  /** 401: a Send Email hook call whose Standard Webhooks signature does not match SEND_EMAIL_HOOK_SECRET, or is
   * over five minutes old; nothing is sent. */
  invalid_hook_signature: 401,
  /** 422: the auth mail's address cannot be mailed (it bounced hard or complained: suppressed); not sent. */
  auth_email_undeliverable: 422,
  /** 503: the hook's secret is not set (auth_hook_not_configured), or the email provider could not take the auth
   * mail now (auth_email_failed; Supabase Auth retries). */
  auth_hook_not_configured: 503,
  auth_email_failed: 503,

  // Runtime settings (docs/runtime-settings.md).
  /** 404: no runtime setting has this key (admin_runtime_settings lists them; a feature gone from the config takes
   * its settings with it). */
  unknown_setting: 404,
  /** 404: no runtime settings version has this number. */
  settings_version_not_found: 404,
  /** 409: the settings changed since the version the change was made on (expected_version): reload and retry. */
  settings_version_conflict: 409,
  /** 422: a runtime setting's value of the wrong type or out of its range or choices; the message names the key. */
  invalid_setting: 422,
  /** 422: a runtime settings change without a note (3 to 1,000 characters) saying why. */
  invalid_note: 422,
  /** 503: the product is in maintenance (a runtime setting); `details` carries the announcement; Retry-After says
   * when to try again. */
  maintenance: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
