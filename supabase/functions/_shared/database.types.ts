export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];

export type Database = {
  "public": {
    Tables: {
      "account_invitations": {
        Row: {
          "accepted_at": string | null;
          "accepted_by": string | null;
          "account_id": string;
          "created_at": string;
          "declined_at": string | null;
          "declined_by": string | null;
          "email": string | null;
          "expires_at": string;
          "id": string;
          "invited_by": string | null;
          "max_uses": number | null;
          "revoked_at": string | null;
          "revoked_by": string | null;
          "role": string;
          "token_hash": string;
          "token_prefix": string;
          "uses": number;
        };
        ComputedFields: never;
        Insert: {
          "accepted_at"?: string | null;
          "accepted_by"?: string | null;
          "account_id": string;
          "created_at"?: string;
          "declined_at"?: string | null;
          "declined_by"?: string | null;
          "email"?: string | null;
          "expires_at": string;
          "id"?: string;
          "invited_by"?: string | null;
          "max_uses"?: number | null;
          "revoked_at"?: string | null;
          "revoked_by"?: string | null;
          "role": string;
          "token_hash": string;
          "token_prefix": string;
          "uses"?: number;
        };
        Update: {
          "accepted_at"?: string | null;
          "accepted_by"?: string | null;
          "account_id"?: string;
          "created_at"?: string;
          "declined_at"?: string | null;
          "declined_by"?: string | null;
          "email"?: string | null;
          "expires_at"?: string;
          "id"?: string;
          "invited_by"?: string | null;
          "max_uses"?: number | null;
          "revoked_at"?: string | null;
          "revoked_by"?: string | null;
          "role"?: string;
          "token_hash"?: string;
          "token_prefix"?: string;
          "uses"?: number;
        };
        Relationships: [
          {
            foreignKeyName: "account_invitations_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "account_invitations_role_fkey";
            columns: ["role"];
            isOneToOne: false;
            referencedRelation: "team_roles";
            referencedColumns: ["role"];
          },
        ];
      };
      "account_members": {
        Row: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "joined_at"?: string;
          "monthly_spend_cap"?: number | null;
          "role": string;
          "user_id": string;
        };
        Update: {
          "account_id"?: string;
          "joined_at"?: string;
          "monthly_spend_cap"?: number | null;
          "role"?: string;
          "user_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "account_members_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "account_members_role_fkey";
            columns: ["role"];
            isOneToOne: false;
            referencedRelation: "team_roles";
            referencedColumns: ["role"];
          },
        ];
      };
      "accounts": {
        Row: {
          "billed_seat_version": number | null;
          "billed_seats": number | null;
          "billed_subscription": string | null;
          "created_at": string;
          "created_by": string | null;
          "id": string;
          "kind": string;
          "name": string;
          "personal_user_id": string | null;
          "plan_id": string | null;
          "seat_version": number;
          "seats_billed_at": string | null;
          "seats_bought": number | null;
          "seats_changed_at": string | null;
          "slug": string | null;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "billed_seat_version"?: number | null;
          "billed_seats"?: number | null;
          "billed_subscription"?: string | null;
          "created_at"?: string;
          "created_by"?: string | null;
          "id"?: string;
          "kind": string;
          "name": string;
          "personal_user_id"?: string | null;
          "plan_id"?: string | null;
          "seat_version"?: number;
          "seats_billed_at"?: string | null;
          "seats_bought"?: number | null;
          "seats_changed_at"?: string | null;
          "slug"?: string | null;
          "updated_at"?: string;
        };
        Update: {
          "billed_seat_version"?: number | null;
          "billed_seats"?: number | null;
          "billed_subscription"?: string | null;
          "created_at"?: string;
          "created_by"?: string | null;
          "id"?: string;
          "kind"?: string;
          "name"?: string;
          "personal_user_id"?: string | null;
          "plan_id"?: string | null;
          "seat_version"?: number;
          "seats_billed_at"?: string | null;
          "seats_bought"?: number | null;
          "seats_changed_at"?: string | null;
          "slug"?: string | null;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "accounts_plan_id_fkey";
            columns: ["plan_id"];
            isOneToOne: false;
            referencedRelation: "plans";
            referencedColumns: ["id"];
          },
        ];
      };
      "admin_settings": {
        Row: {
          "key": string;
          "updated_at": string;
          "updated_by": string | null;
          "value": NonNullable<Json>;
        };
        ComputedFields: never;
        Insert: {
          "key": string;
          "updated_at"?: string;
          "updated_by"?: string | null;
          "value": NonNullable<Json>;
        };
        Update: {
          "key"?: string;
          "updated_at"?: string;
          "updated_by"?: string | null;
          "value"?: NonNullable<Json>;
        };
        Relationships: [];
      };
      "api_keys": {
        Row: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "expires_at": string | null;
          "id": string;
          "key_hash": string;
          "last_used_at": string | null;
          "last4": string;
          "name": string;
          "prefix": string;
          "revoked_at": string | null;
          "scopes": (string)[] | null;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "created_at"?: string;
          "created_by"?: string | null;
          "expires_at"?: string | null;
          "id"?: string;
          "key_hash": string;
          "last_used_at"?: string | null;
          "last4": string;
          "name": string;
          "prefix": string;
          "revoked_at"?: string | null;
          "scopes"?: (string)[] | null;
          "user_id": string;
        };
        Update: {
          "account_id"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "expires_at"?: string | null;
          "id"?: string;
          "key_hash"?: string;
          "last_used_at"?: string | null;
          "last4"?: string;
          "name"?: string;
          "prefix"?: string;
          "revoked_at"?: string | null;
          "scopes"?: (string)[] | null;
          "user_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "api_keys_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "audit_log": {
        Row: {
          "action": string;
          "actor_id": string | null;
          "created_at": string;
          "details": NonNullable<Json>;
          "id": number;
          "target_id": string | null;
          "target_type": string;
        };
        ComputedFields: never;
        Insert: {
          "action": string;
          "actor_id"?: string | null;
          "created_at"?: string;
          "details"?: NonNullable<Json>;
          "id"?: never;
          "target_id"?: string | null;
          "target_type": string;
        };
        Update: {
          "action"?: string;
          "actor_id"?: string | null;
          "created_at"?: string;
          "details"?: NonNullable<Json>;
          "id"?: never;
          "target_id"?: string | null;
          "target_type"?: string;
        };
        Relationships: [];
      };
      "cash_ledger": {
        Row: {
          "amount_cents": number;
          "balance_after_cents": number;
          "cashout_id": string | null;
          "created_at": string;
          "id": number;
          "idempotency_key": string | null;
          "kind": string;
          "reason": string | null;
          "referral_id": string | null;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "amount_cents": number;
          "balance_after_cents": number;
          "cashout_id"?: string | null;
          "created_at"?: string;
          "id"?: never;
          "idempotency_key"?: string | null;
          "kind": string;
          "reason"?: string | null;
          "referral_id"?: string | null;
          "user_id": string;
        };
        Update: {
          "amount_cents"?: number;
          "balance_after_cents"?: number;
          "cashout_id"?: string | null;
          "created_at"?: string;
          "id"?: never;
          "idempotency_key"?: string | null;
          "kind"?: string;
          "reason"?: string | null;
          "referral_id"?: string | null;
          "user_id"?: string;
        };
        Relationships: [];
      };
      "cash_wallets": {
        Row: {
          "available_cents": number;
          "held_cents": number;
          "paid_out_cents": number;
          "updated_at": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "available_cents"?: number;
          "held_cents"?: number;
          "paid_out_cents"?: number;
          "updated_at"?: string;
          "user_id": string;
        };
        Update: {
          "available_cents"?: number;
          "held_cents"?: number;
          "paid_out_cents"?: number;
          "updated_at"?: string;
          "user_id"?: string;
        };
        Relationships: [];
      };
      "cashouts": {
        Row: {
          "amount_cents": number;
          "attempts": number;
          "claimed_at": string | null;
          "currency": string;
          "decided_at": string | null;
          "decided_by": string | null;
          "decision_reason": string | null;
          "failure_reason": string | null;
          "id": string;
          "paid_at": string | null;
          "requested_at": string;
          "status": string;
          "stripe_transfer_id": string | null;
          "updated_at": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "amount_cents": number;
          "attempts"?: number;
          "claimed_at"?: string | null;
          "currency": string;
          "decided_at"?: string | null;
          "decided_by"?: string | null;
          "decision_reason"?: string | null;
          "failure_reason"?: string | null;
          "id"?: string;
          "paid_at"?: string | null;
          "requested_at"?: string;
          "status"?: string;
          "stripe_transfer_id"?: string | null;
          "updated_at"?: string;
          "user_id": string;
        };
        Update: {
          "amount_cents"?: number;
          "attempts"?: number;
          "claimed_at"?: string | null;
          "currency"?: string;
          "decided_at"?: string | null;
          "decided_by"?: string | null;
          "decision_reason"?: string | null;
          "failure_reason"?: string | null;
          "id"?: string;
          "paid_at"?: string | null;
          "requested_at"?: string;
          "status"?: string;
          "stripe_transfer_id"?: string | null;
          "updated_at"?: string;
          "user_id"?: string;
        };
        Relationships: [];
      };
      "chat_models": {
        Row: {
          "active": boolean;
          "credits_per_1k_tokens": number;
          "id": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "credits_per_1k_tokens": number;
          "id": string;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "credits_per_1k_tokens"?: number;
          "id"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "chat_personas": {
        Row: {
          "active": boolean;
          "credits_per_message": number;
          "id": string;
          "name": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "credits_per_message": number;
          "id": string;
          "name": string;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "credits_per_message"?: number;
          "id"?: string;
          "name"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "connect_accounts": {
        Row: {
          "created_at": string;
          "stripe_account_id": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "stripe_account_id": string;
          "user_id": string;
        };
        Update: {
          "created_at"?: string;
          "stripe_account_id"?: string;
          "user_id"?: string;
        };
        Relationships: [];
      };
      "conversations": {
        Row: {
          "anon_session_hash": string | null;
          "created_at": string;
          "id": string;
          "last_message_at": string | null;
          "message_count": number;
          "persona": string;
          "title": string;
          "updated_at": string;
          "user_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "anon_session_hash"?: string | null;
          "created_at"?: string;
          "id"?: string;
          "last_message_at"?: string | null;
          "message_count"?: number;
          "persona"?: string;
          "title"?: string;
          "updated_at"?: string;
          "user_id"?: string | null;
        };
        Update: {
          "anon_session_hash"?: string | null;
          "created_at"?: string;
          "id"?: string;
          "last_message_at"?: string | null;
          "message_count"?: number;
          "persona"?: string;
          "title"?: string;
          "updated_at"?: string;
          "user_id"?: string | null;
        };
        Relationships: [];
      };
      "credit_ledger": {
        Row: {
          "account_id": string;
          "actor_id": string | null;
          "amount": number;
          "balance_after": number;
          "created_at": string;
          "expires_at": string | null;
          "feature_id": string | null;
          "free_units": number | null;
          "id": number;
          "idempotency_key": string | null;
          "kind": string;
          "quantity": number | null;
          "reason": string | null;
          "reference": string | null;
          "reservation_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "actor_id"?: string | null;
          "amount": number;
          "balance_after": number;
          "created_at"?: string;
          "expires_at"?: string | null;
          "feature_id"?: string | null;
          "free_units"?: number | null;
          "id"?: never;
          "idempotency_key"?: string | null;
          "kind": string;
          "quantity"?: number | null;
          "reason"?: string | null;
          "reference"?: string | null;
          "reservation_id"?: string | null;
        };
        Update: {
          "account_id"?: string;
          "actor_id"?: string | null;
          "amount"?: number;
          "balance_after"?: number;
          "created_at"?: string;
          "expires_at"?: string | null;
          "feature_id"?: string | null;
          "free_units"?: number | null;
          "id"?: never;
          "idempotency_key"?: string | null;
          "kind"?: string;
          "quantity"?: number | null;
          "reason"?: string | null;
          "reference"?: string | null;
          "reservation_id"?: string | null;
        };
        Relationships: [];
      };
      "credit_lots": {
        Row: {
          "account_id": string;
          "amount": number;
          "created_at": string;
          "expires_at": string;
          "id": number;
          "ledger_id": number;
          "remaining": number;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "amount": number;
          "created_at"?: string;
          "expires_at": string;
          "id"?: never;
          "ledger_id": number;
          "remaining": number;
        };
        Update: {
          "account_id"?: string;
          "amount"?: number;
          "created_at"?: string;
          "expires_at"?: string;
          "id"?: never;
          "ledger_id"?: number;
          "remaining"?: number;
        };
        Relationships: [];
      };
      "credit_packs": {
        Row: {
          "active": boolean;
          "credits": number;
          "id": string;
          "name": string;
          "price_cents": number;
          "sort_order": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "credits": number;
          "id": string;
          "name": string;
          "price_cents": number;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "credits"?: number;
          "id"?: string;
          "name"?: string;
          "price_cents"?: number;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "credit_reservations": {
        Row: {
          "account_id": string;
          "actor_id": string | null;
          "amount": number;
          "closed_at": string | null;
          "cost": number | null;
          "created_at": string;
          "expires_at": string;
          "feature_id": string;
          "free_units": number;
          "held_by_server": boolean;
          "id": string;
          "idempotency_key": string;
          "period_key": string | null;
          "price": number;
          "quantity": number;
          "settled_amount": number | null;
          "status": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "actor_id"?: string | null;
          "amount"?: number;
          "closed_at"?: string | null;
          "cost"?: number | null;
          "created_at"?: string;
          "expires_at": string;
          "feature_id": string;
          "free_units"?: number;
          "held_by_server"?: boolean;
          "id"?: string;
          "idempotency_key": string;
          "period_key"?: string | null;
          "price"?: number;
          "quantity": number;
          "settled_amount"?: number | null;
          "status"?: string;
        };
        Update: {
          "account_id"?: string;
          "actor_id"?: string | null;
          "amount"?: number;
          "closed_at"?: string | null;
          "cost"?: number | null;
          "created_at"?: string;
          "expires_at"?: string;
          "feature_id"?: string;
          "free_units"?: number;
          "held_by_server"?: boolean;
          "id"?: string;
          "idempotency_key"?: string;
          "period_key"?: string | null;
          "price"?: number;
          "quantity"?: number;
          "settled_amount"?: number | null;
          "status"?: string;
        };
        Relationships: [];
      };
      "customers": {
        Row: {
          "account_id": string;
          "created_at": string;
          "stripe_customer_id": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "created_at"?: string;
          "stripe_customer_id": string;
        };
        Update: {
          "account_id"?: string;
          "created_at"?: string;
          "stripe_customer_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "customers_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: true;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "downloads": {
        Row: {
          "account_id": string | null;
          "artifact_id": string;
          "country": string | null;
          "created_at": string;
          "id": number;
          "license_id": string | null;
          "platform": string;
          "product_id": string;
          "release_id": string;
          "user_id": string | null;
          "version": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id"?: string | null;
          "artifact_id": string;
          "country"?: string | null;
          "created_at"?: string;
          "id"?: never;
          "license_id"?: string | null;
          "platform": string;
          "product_id": string;
          "release_id": string;
          "user_id"?: string | null;
          "version": string;
        };
        Update: {
          "account_id"?: string | null;
          "artifact_id"?: string;
          "country"?: string | null;
          "created_at"?: string;
          "id"?: never;
          "license_id"?: string | null;
          "platform"?: string;
          "product_id"?: string;
          "release_id"?: string;
          "user_id"?: string | null;
          "version"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "downloads_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "downloads_artifact_id_fkey";
            columns: ["artifact_id"];
            isOneToOne: false;
            referencedRelation: "release_artifacts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "downloads_release_id_fkey";
            columns: ["release_id"];
            isOneToOne: false;
            referencedRelation: "releases";
            referencedColumns: ["id"];
          },
        ];
      };
      "email_events": {
        Row: {
          "email": string | null;
          "event_id": string;
          "id": number;
          "occurred_at": string;
          "outbox_id": number | null;
          "payload": NonNullable<Json>;
          "provider": string;
          "provider_message_id": string | null;
          "received_at": string;
          "type": string;
        };
        ComputedFields: never;
        Insert: {
          "email"?: string | null;
          "event_id": string;
          "id"?: never;
          "occurred_at"?: string;
          "outbox_id"?: number | null;
          "payload"?: NonNullable<Json>;
          "provider": string;
          "provider_message_id"?: string | null;
          "received_at"?: string;
          "type": string;
        };
        Update: {
          "email"?: string | null;
          "event_id"?: string;
          "id"?: never;
          "occurred_at"?: string;
          "outbox_id"?: number | null;
          "payload"?: NonNullable<Json>;
          "provider"?: string;
          "provider_message_id"?: string | null;
          "received_at"?: string;
          "type"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "email_events_outbox_id_fkey";
            columns: ["outbox_id"];
            isOneToOne: false;
            referencedRelation: "email_outbox";
            referencedColumns: ["id"];
          },
        ];
      };
      "email_outbox": {
        Row: {
          "attempts": number;
          "category": string | null;
          "claimed_by": string | null;
          "claimed_until": string | null;
          "created_at": string;
          "dedupe_key": string;
          "delivered_at": string | null;
          "delivery_status": string | null;
          "id": number;
          "last_error": string | null;
          "last_event_at": string | null;
          "next_attempt_at": string;
          "payload": NonNullable<Json>;
          "provider": string | null;
          "provider_message_id": string | null;
          "sent_at": string | null;
          "status": string;
          "template": string;
          "to_email": string | null;
          "user_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "attempts"?: number;
          "category"?: string | null;
          "claimed_by"?: string | null;
          "claimed_until"?: string | null;
          "created_at"?: string;
          "dedupe_key": string;
          "delivered_at"?: string | null;
          "delivery_status"?: string | null;
          "id"?: never;
          "last_error"?: string | null;
          "last_event_at"?: string | null;
          "next_attempt_at"?: string;
          "payload"?: NonNullable<Json>;
          "provider"?: string | null;
          "provider_message_id"?: string | null;
          "sent_at"?: string | null;
          "status"?: string;
          "template": string;
          "to_email"?: string | null;
          "user_id"?: string | null;
        };
        Update: {
          "attempts"?: number;
          "category"?: string | null;
          "claimed_by"?: string | null;
          "claimed_until"?: string | null;
          "created_at"?: string;
          "dedupe_key"?: string;
          "delivered_at"?: string | null;
          "delivery_status"?: string | null;
          "id"?: never;
          "last_error"?: string | null;
          "last_event_at"?: string | null;
          "next_attempt_at"?: string;
          "payload"?: NonNullable<Json>;
          "provider"?: string | null;
          "provider_message_id"?: string | null;
          "sent_at"?: string | null;
          "status"?: string;
          "template"?: string;
          "to_email"?: string | null;
          "user_id"?: string | null;
        };
        Relationships: [];
      };
      "email_suppressions": {
        Row: {
          "created_at": string;
          "email": string;
          "event_id": number | null;
          "reason": string;
          "source": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "email": string;
          "event_id"?: number | null;
          "reason": string;
          "source": string;
        };
        Update: {
          "created_at"?: string;
          "email"?: string;
          "event_id"?: number | null;
          "reason"?: string;
          "source"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "email_suppressions_event_id_fkey";
            columns: ["event_id"];
            isOneToOne: false;
            referencedRelation: "email_events";
            referencedColumns: ["id"];
          },
        ];
      };
      "events": {
        Row: {
          "anonymous_id": string | null;
          "id": number;
          "name": string;
          "occurred_at": string;
          "properties": NonNullable<Json>;
          "received_at": string;
          "user_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "anonymous_id"?: string | null;
          "id"?: never;
          "name": string;
          "occurred_at"?: string;
          "properties"?: NonNullable<Json>;
          "received_at"?: string;
          "user_id"?: string | null;
        };
        Update: {
          "anonymous_id"?: string | null;
          "id"?: never;
          "name"?: string;
          "occurred_at"?: string;
          "properties"?: NonNullable<Json>;
          "received_at"?: string;
          "user_id"?: string | null;
        };
        Relationships: [];
      };
      "features": {
        Row: {
          "active": boolean;
          "credits": number;
          "id": string;
          "name": string;
          "unit": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "credits": number;
          "id": string;
          "name": string;
          "unit"?: string;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "credits"?: number;
          "id"?: string;
          "name"?: string;
          "unit"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "generations": {
        Row: {
          "account_id": string;
          "bytes": number | null;
          "completed_at": string | null;
          "cost": number;
          "created_at": string;
          "duration_ms": number | null;
          "error": string | null;
          "free": boolean;
          "held": number;
          "id": string;
          "idempotency_key": string;
          "mime_type": string | null;
          "model": string | null;
          "prompt": string;
          "provider": string | null;
          "provider_ms": number | null;
          "reservation_id": string | null;
          "size": string;
          "status": string;
          "storage_path": string | null;
          "style": string | null;
          "user_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "bytes"?: number | null;
          "completed_at"?: string | null;
          "cost"?: number;
          "created_at"?: string;
          "duration_ms"?: number | null;
          "error"?: string | null;
          "free"?: boolean;
          "held"?: number;
          "id"?: string;
          "idempotency_key": string;
          "mime_type"?: string | null;
          "model"?: string | null;
          "prompt": string;
          "provider"?: string | null;
          "provider_ms"?: number | null;
          "reservation_id"?: string | null;
          "size": string;
          "status"?: string;
          "storage_path"?: string | null;
          "style"?: string | null;
          "user_id"?: string | null;
        };
        Update: {
          "account_id"?: string;
          "bytes"?: number | null;
          "completed_at"?: string | null;
          "cost"?: number;
          "created_at"?: string;
          "duration_ms"?: number | null;
          "error"?: string | null;
          "free"?: boolean;
          "held"?: number;
          "id"?: string;
          "idempotency_key"?: string;
          "mime_type"?: string | null;
          "model"?: string | null;
          "prompt"?: string;
          "provider"?: string | null;
          "provider_ms"?: number | null;
          "reservation_id"?: string | null;
          "size"?: string;
          "status"?: string;
          "storage_path"?: string | null;
          "style"?: string | null;
          "user_id"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "generations_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "image_prices": {
        Row: {
          "credits": number;
          "model": string;
          "size": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "credits": number;
          "model": string;
          "size": string;
          "updated_at"?: string;
        };
        Update: {
          "credits"?: number;
          "model"?: string;
          "size"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "installations": {
        Row: {
          "account_id": string;
          "api_key_prefix": string | null;
          "checked_at": string | null;
          "client": string;
          "client_version": string | null;
          "created_at": string;
          "error_message": string | null;
          "id": string;
          "mcp_config": Json | null;
          "server_info": Json | null;
          "server_url": string | null;
          "status": string;
          "updated_at": string;
          "user_id": string;
          "validated_at": string | null;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "api_key_prefix"?: string | null;
          "checked_at"?: string | null;
          "client": string;
          "client_version"?: string | null;
          "created_at"?: string;
          "error_message"?: string | null;
          "id"?: string;
          "mcp_config"?: Json | null;
          "server_info"?: Json | null;
          "server_url"?: string | null;
          "status"?: string;
          "updated_at"?: string;
          "user_id": string;
          "validated_at"?: string | null;
        };
        Update: {
          "account_id"?: string;
          "api_key_prefix"?: string | null;
          "checked_at"?: string | null;
          "client"?: string;
          "client_version"?: string | null;
          "created_at"?: string;
          "error_message"?: string | null;
          "id"?: string;
          "mcp_config"?: Json | null;
          "server_info"?: Json | null;
          "server_url"?: string | null;
          "status"?: string;
          "updated_at"?: string;
          "user_id"?: string;
          "validated_at"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "installations_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "invoices": {
        Row: {
          "account_id": string;
          "amount_due": number;
          "amount_paid": number;
          "created_at": string;
          "credits_clawed_back": number;
          "credits_granted": number;
          "currency": string;
          "hosted_invoice_url": string | null;
          "id": string;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "subscription_id": string | null;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "amount_due"?: number;
          "amount_paid"?: number;
          "created_at"?: string;
          "credits_clawed_back"?: number;
          "credits_granted"?: number;
          "currency": string;
          "hosted_invoice_url"?: string | null;
          "id": string;
          "provider"?: string;
          "refunded_cents"?: number;
          "status": string;
          "subscription_id"?: string | null;
          "updated_at"?: string;
        };
        Update: {
          "account_id"?: string;
          "amount_due"?: number;
          "amount_paid"?: number;
          "created_at"?: string;
          "credits_clawed_back"?: number;
          "credits_granted"?: number;
          "currency"?: string;
          "hosted_invoice_url"?: string | null;
          "id"?: string;
          "provider"?: string;
          "refunded_cents"?: number;
          "status"?: string;
          "subscription_id"?: string | null;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "invoices_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "license_machines": {
        Row: {
          "account_id": string;
          "created_at": string;
          "fingerprint": string;
          "id": string;
          "last_heartbeat_at": string;
          "license_id": string;
          "name": string | null;
          "platform": string | null;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "created_at"?: string;
          "fingerprint": string;
          "id"?: string;
          "last_heartbeat_at"?: string;
          "license_id": string;
          "name"?: string | null;
          "platform"?: string | null;
        };
        Update: {
          "account_id"?: string;
          "created_at"?: string;
          "fingerprint"?: string;
          "id"?: string;
          "last_heartbeat_at"?: string;
          "license_id"?: string;
          "name"?: string | null;
          "platform"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "license_machines_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "license_machines_license_id_fkey";
            columns: ["license_id"];
            isOneToOne: false;
            referencedRelation: "licenses";
            referencedColumns: ["id"];
          },
        ];
      };
      "license_products": {
        Row: {
          "active": boolean;
          "duration_days": number | null;
          "entitlements": (string)[];
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "max_machines": number | null;
          "max_major_version": number | null;
          "name": string;
          "plan_ids": (string)[];
          "price_cents": number | null;
          "renews_with_subscription": boolean;
          "sort_order": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "duration_days"?: number | null;
          "entitlements"?: (string)[];
          "floating"?: boolean;
          "grace_days"?: number;
          "heartbeat_minutes"?: number | null;
          "id": string;
          "max_machines"?: number | null;
          "max_major_version"?: number | null;
          "name": string;
          "plan_ids"?: (string)[];
          "price_cents"?: number | null;
          "renews_with_subscription"?: boolean;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "duration_days"?: number | null;
          "entitlements"?: (string)[];
          "floating"?: boolean;
          "grace_days"?: number;
          "heartbeat_minutes"?: number | null;
          "id"?: string;
          "max_machines"?: number | null;
          "max_major_version"?: number | null;
          "name"?: string;
          "plan_ids"?: (string)[];
          "price_cents"?: number | null;
          "renews_with_subscription"?: boolean;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "licenses": {
        Row: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "duration_days": number | null;
          "entitlements": (string)[];
          "expires_at": string | null;
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at": string | null;
          "max_machines": number | null;
          "max_major_version": number | null;
          "product_id": string;
          "purchase_id": string | null;
          "renews_with_subscription": boolean;
          "revoked_at": string | null;
          "source": string;
          "status": string;
          "subscription_id": string | null;
          "suspended_at": string | null;
          "suspended_by_admin": boolean;
          "updated_at": string;
          "user_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "created_at"?: string;
          "created_by"?: string | null;
          "duration_days"?: number | null;
          "entitlements"?: (string)[];
          "expires_at"?: string | null;
          "floating": boolean;
          "grace_days"?: number;
          "heartbeat_minutes"?: number | null;
          "id"?: string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at"?: string | null;
          "max_machines"?: number | null;
          "max_major_version"?: number | null;
          "product_id": string;
          "purchase_id"?: string | null;
          "renews_with_subscription"?: boolean;
          "revoked_at"?: string | null;
          "source": string;
          "status"?: string;
          "subscription_id"?: string | null;
          "suspended_at"?: string | null;
          "suspended_by_admin"?: boolean;
          "updated_at"?: string;
          "user_id"?: string | null;
        };
        Update: {
          "account_id"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "duration_days"?: number | null;
          "entitlements"?: (string)[];
          "expires_at"?: string | null;
          "floating"?: boolean;
          "grace_days"?: number;
          "heartbeat_minutes"?: number | null;
          "id"?: string;
          "key_hash"?: string;
          "key_prefix"?: string;
          "last_validated_at"?: string | null;
          "max_machines"?: number | null;
          "max_major_version"?: number | null;
          "product_id"?: string;
          "purchase_id"?: string | null;
          "renews_with_subscription"?: boolean;
          "revoked_at"?: string | null;
          "source"?: string;
          "status"?: string;
          "subscription_id"?: string | null;
          "suspended_at"?: string | null;
          "suspended_by_admin"?: boolean;
          "updated_at"?: string;
          "user_id"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "licenses_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "licenses_product_id_fkey";
            columns: ["product_id"];
            isOneToOne: false;
            referencedRelation: "license_products";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "licenses_purchase_id_fkey";
            columns: ["purchase_id"];
            isOneToOne: false;
            referencedRelation: "purchases";
            referencedColumns: ["id"];
          },
        ];
      };
      "messages": {
        Row: {
          "completion_tokens": number | null;
          "content": string;
          "conversation_id": string;
          "created_at": string;
          "credits_consumed": number;
          "id": number;
          "model": string | null;
          "persona": string | null;
          "prompt_tokens": number | null;
          "provider": string | null;
          "reservation_id": string | null;
          "role": string;
          "status": string;
        };
        ComputedFields: never;
        Insert: {
          "completion_tokens"?: number | null;
          "content": string;
          "conversation_id": string;
          "created_at"?: string;
          "credits_consumed"?: number;
          "id"?: never;
          "model"?: string | null;
          "persona"?: string | null;
          "prompt_tokens"?: number | null;
          "provider"?: string | null;
          "reservation_id"?: string | null;
          "role": string;
          "status"?: string;
        };
        Update: {
          "completion_tokens"?: number | null;
          "content"?: string;
          "conversation_id"?: string;
          "created_at"?: string;
          "credits_consumed"?: number;
          "id"?: never;
          "model"?: string | null;
          "persona"?: string | null;
          "prompt_tokens"?: number | null;
          "provider"?: string | null;
          "reservation_id"?: string | null;
          "role"?: string;
          "status"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "messages_conversation_id_fkey";
            columns: ["conversation_id"];
            isOneToOne: false;
            referencedRelation: "conversations";
            referencedColumns: ["id"];
          },
        ];
      };
      "notifications": {
        Row: {
          "account_id": string | null;
          "body": string;
          "created_at": string;
          "data": NonNullable<Json>;
          "dedupe_key": string | null;
          "id": string;
          "link": string | null;
          "read_at": string | null;
          "title": string;
          "type": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id"?: string | null;
          "body"?: string;
          "created_at"?: string;
          "data"?: NonNullable<Json>;
          "dedupe_key"?: string | null;
          "id"?: string;
          "link"?: string | null;
          "read_at"?: string | null;
          "title": string;
          "type": string;
          "user_id": string;
        };
        Update: {
          "account_id"?: string | null;
          "body"?: string;
          "created_at"?: string;
          "data"?: NonNullable<Json>;
          "dedupe_key"?: string | null;
          "id"?: string;
          "link"?: string | null;
          "read_at"?: string | null;
          "title"?: string;
          "type"?: string;
          "user_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "notifications_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "plan_quotas": {
        Row: {
          "feature_id": string;
          "free_limit": number | null;
          "overage": string;
          "period": string | null;
          "plan_id": string;
          "unlimited": boolean;
        };
        ComputedFields: never;
        Insert: {
          "feature_id": string;
          "free_limit"?: number | null;
          "overage"?: string;
          "period"?: string | null;
          "plan_id": string;
          "unlimited"?: boolean;
        };
        Update: {
          "feature_id"?: string;
          "free_limit"?: number | null;
          "overage"?: string;
          "period"?: string | null;
          "plan_id"?: string;
          "unlimited"?: boolean;
        };
        Relationships: [
          {
            foreignKeyName: "plan_quotas_feature_id_fkey";
            columns: ["feature_id"];
            isOneToOne: false;
            referencedRelation: "features";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "plan_quotas_plan_id_fkey";
            columns: ["plan_id"];
            isOneToOne: false;
            referencedRelation: "plans";
            referencedColumns: ["id"];
          },
        ];
      };
      "plans": {
        Row: {
          "active": boolean;
          "description": string;
          "discount_percent": number;
          "id": string;
          "is_default": boolean;
          "max_seats": number | null;
          "monthly_credits": number;
          "name": string;
          "per_seat": boolean;
          "price_monthly_cents": number;
          "price_yearly_cents": number | null;
          "sort_order": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "description"?: string;
          "discount_percent"?: number;
          "id": string;
          "is_default"?: boolean;
          "max_seats"?: number | null;
          "monthly_credits"?: number;
          "name": string;
          "per_seat"?: boolean;
          "price_monthly_cents": number;
          "price_yearly_cents"?: number | null;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "description"?: string;
          "discount_percent"?: number;
          "id"?: string;
          "is_default"?: boolean;
          "max_seats"?: number | null;
          "monthly_credits"?: number;
          "name"?: string;
          "per_seat"?: boolean;
          "price_monthly_cents"?: number;
          "price_yearly_cents"?: number | null;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "polar_customers": {
        Row: {
          "account_id": string;
          "created_at": string;
          "polar_customer_id": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "created_at"?: string;
          "polar_customer_id": string;
        };
        Update: {
          "account_id"?: string;
          "created_at"?: string;
          "polar_customer_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "polar_customers_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: true;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "polar_events": {
        Row: {
          "attempts": number;
          "customer_id": string | null;
          "id": string;
          "last_error": string | null;
          "payload": NonNullable<Json>;
          "polar_created_at": string;
          "processed_at": string | null;
          "received_at": string;
          "type": string;
        };
        ComputedFields: never;
        Insert: {
          "attempts"?: number;
          "customer_id"?: string | null;
          "id": string;
          "last_error"?: string | null;
          "payload": NonNullable<Json>;
          "polar_created_at": string;
          "processed_at"?: string | null;
          "received_at"?: string;
          "type": string;
        };
        Update: {
          "attempts"?: number;
          "customer_id"?: string | null;
          "id"?: string;
          "last_error"?: string | null;
          "payload"?: NonNullable<Json>;
          "polar_created_at"?: string;
          "processed_at"?: string | null;
          "received_at"?: string;
          "type"?: string;
        };
        Relationships: [];
      };
      "prices": {
        Row: {
          "active": boolean;
          "billing_interval": string | null;
          "currency": string;
          "id": string;
          "lookup_key": string;
          "product_id": string;
          "provider": string;
          "unit_amount": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "billing_interval"?: string | null;
          "currency": string;
          "id": string;
          "lookup_key": string;
          "product_id": string;
          "provider"?: string;
          "unit_amount": number;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "billing_interval"?: string | null;
          "currency"?: string;
          "id"?: string;
          "lookup_key"?: string;
          "product_id"?: string;
          "provider"?: string;
          "unit_amount"?: number;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "prices_product_id_fkey";
            columns: ["product_id"];
            isOneToOne: false;
            referencedRelation: "products";
            referencedColumns: ["id"];
          },
        ];
      };
      "products": {
        Row: {
          "active": boolean;
          "id": string;
          "kind": string;
          "name": string;
          "pack_id": string | null;
          "plan_id": string | null;
          "provider": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "id": string;
          "kind": string;
          "name": string;
          "pack_id"?: string | null;
          "plan_id"?: string | null;
          "provider"?: string;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "id"?: string;
          "kind"?: string;
          "name"?: string;
          "pack_id"?: string | null;
          "plan_id"?: string | null;
          "provider"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "products_pack_id_fkey";
            columns: ["pack_id"];
            isOneToOne: false;
            referencedRelation: "credit_packs";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "products_plan_id_fkey";
            columns: ["plan_id"];
            isOneToOne: false;
            referencedRelation: "plans";
            referencedColumns: ["id"];
          },
        ];
      };
      "profiles": {
        Row: {
          "avatar_url": string | null;
          "created_at": string;
          "display_name": string | null;
          "email": string | null;
          "id": string;
          "language": string;
          "preferences": NonNullable<Json>;
          "role": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "avatar_url"?: string | null;
          "created_at"?: string;
          "display_name"?: string | null;
          "email"?: string | null;
          "id": string;
          "language"?: string;
          "preferences"?: NonNullable<Json>;
          "role"?: string;
          "updated_at"?: string;
        };
        Update: {
          "avatar_url"?: string | null;
          "created_at"?: string;
          "display_name"?: string | null;
          "email"?: string | null;
          "id"?: string;
          "language"?: string;
          "preferences"?: NonNullable<Json>;
          "role"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "purchases": {
        Row: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "created_at": string;
          "credits": number;
          "credits_clawed_back": number;
          "currency": string;
          "discount_percent": number;
          "id": string;
          "license_product_id": string | null;
          "pack_id": string | null;
          "payment_intent_id": string | null;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "created_at"?: string;
          "credits": number;
          "credits_clawed_back"?: number;
          "currency": string;
          "discount_percent"?: number;
          "id"?: string;
          "license_product_id"?: string | null;
          "pack_id"?: string | null;
          "payment_intent_id"?: string | null;
          "provider"?: string;
          "refunded_cents"?: number;
          "status"?: string;
          "updated_at"?: string;
        };
        Update: {
          "account_id"?: string;
          "amount_cents"?: number;
          "checkout_session_id"?: string;
          "created_at"?: string;
          "credits"?: number;
          "credits_clawed_back"?: number;
          "currency"?: string;
          "discount_percent"?: number;
          "id"?: string;
          "license_product_id"?: string | null;
          "pack_id"?: string | null;
          "payment_intent_id"?: string | null;
          "provider"?: string;
          "refunded_cents"?: number;
          "status"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "purchases_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "purchases_license_product_id_fkey";
            columns: ["license_product_id"];
            isOneToOne: false;
            referencedRelation: "license_products";
            referencedColumns: ["id"];
          },
        ];
      };
      "referral_codes": {
        Row: {
          "code": string;
          "created_at": string;
          "user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "code": string;
          "created_at"?: string;
          "user_id": string;
        };
        Update: {
          "code"?: string;
          "created_at"?: string;
          "user_id"?: string;
        };
        Relationships: [];
      };
      "referrals": {
        Row: {
          "cash_awarded_cents": number;
          "code": string;
          "created_at": string;
          "credits_awarded": number;
          "id": string;
          "referred_id": string;
          "referrer_id": string;
          "rewarded_at": string | null;
          "status": string;
        };
        ComputedFields: never;
        Insert: {
          "cash_awarded_cents"?: number;
          "code": string;
          "created_at"?: string;
          "credits_awarded"?: number;
          "id"?: string;
          "referred_id": string;
          "referrer_id": string;
          "rewarded_at"?: string | null;
          "status"?: string;
        };
        Update: {
          "cash_awarded_cents"?: number;
          "code"?: string;
          "created_at"?: string;
          "credits_awarded"?: number;
          "id"?: string;
          "referred_id"?: string;
          "referrer_id"?: string;
          "rewarded_at"?: string | null;
          "status"?: string;
        };
        Relationships: [];
      };
      "release_artifacts": {
        Row: {
          "content_type": string;
          "created_at": string;
          "created_by": string | null;
          "filename": string;
          "id": string;
          "platform": string;
          "release_id": string;
          "sha256": string;
          "size": number;
          "storage_path": string;
        };
        ComputedFields: never;
        Insert: {
          "content_type"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "filename": string;
          "id"?: string;
          "platform": string;
          "release_id": string;
          "sha256": string;
          "size": number;
          "storage_path": string;
        };
        Update: {
          "content_type"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "filename"?: string;
          "id"?: string;
          "platform"?: string;
          "release_id"?: string;
          "sha256"?: string;
          "size"?: number;
          "storage_path"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "release_artifacts_release_id_fkey";
            columns: ["release_id"];
            isOneToOne: false;
            referencedRelation: "releases";
            referencedColumns: ["id"];
          },
        ];
      };
      "release_products": {
        Row: {
          "active": boolean;
          "id": string;
          "license_required": boolean;
          "name": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "active"?: boolean;
          "id": string;
          "license_required": boolean;
          "name": string;
          "updated_at"?: string;
        };
        Update: {
          "active"?: boolean;
          "id"?: string;
          "license_required"?: boolean;
          "name"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "releases": {
        Row: {
          "channel": string;
          "created_at": string;
          "created_by": string | null;
          "entitlements": (string)[];
          "id": string;
          "notes": string;
          "prerelease": boolean;
          "product_id": string;
          "published_at": string | null;
          "version": string;
          "version_key": string;
          "yank_reason": string | null;
          "yanked_at": string | null;
          "yanked_by": string | null;
        };
        ComputedFields: never;
        Insert: {
          "channel": string;
          "created_at"?: string;
          "created_by"?: string | null;
          "entitlements"?: (string)[];
          "id"?: string;
          "notes"?: string;
          "prerelease"?: never;
          "product_id": string;
          "published_at"?: string | null;
          "version": string;
          "version_key"?: never;
          "yank_reason"?: string | null;
          "yanked_at"?: string | null;
          "yanked_by"?: string | null;
        };
        Update: {
          "channel"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "entitlements"?: (string)[];
          "id"?: string;
          "notes"?: string;
          "prerelease"?: never;
          "product_id"?: string;
          "published_at"?: string | null;
          "version"?: string;
          "version_key"?: never;
          "yank_reason"?: string | null;
          "yanked_at"?: string | null;
          "yanked_by"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "releases_product_id_fkey";
            columns: ["product_id"];
            isOneToOne: false;
            referencedRelation: "release_products";
            referencedColumns: ["id"];
          },
        ];
      };
      "runtime_settings_versions": {
        Row: {
          "changes": NonNullable<Json>;
          "created_at": string;
          "created_by": string | null;
          "note": string;
          "rolled_back_to": number | null;
          "settings": NonNullable<Json>;
          "version": number;
        };
        ComputedFields: never;
        Insert: {
          "changes"?: NonNullable<Json>;
          "created_at"?: string;
          "created_by"?: string | null;
          "note": string;
          "rolled_back_to"?: number | null;
          "settings": NonNullable<Json>;
          "version": number;
        };
        Update: {
          "changes"?: NonNullable<Json>;
          "created_at"?: string;
          "created_by"?: string | null;
          "note"?: string;
          "rolled_back_to"?: number | null;
          "settings"?: NonNullable<Json>;
          "version"?: number;
        };
        Relationships: [
          {
            foreignKeyName: "runtime_settings_versions_rolled_back_to_fkey";
            columns: ["rolled_back_to"];
            isOneToOne: false;
            referencedRelation: "runtime_settings_versions";
            referencedColumns: ["version"];
          },
        ];
      };
      "stripe_events": {
        Row: {
          "attempts": number;
          "customer_id": string | null;
          "id": string;
          "last_error": string | null;
          "payload": NonNullable<Json>;
          "processed_at": string | null;
          "received_at": string;
          "stripe_created_at": string;
          "type": string;
          "unlinkable_at": string | null;
        };
        ComputedFields: never;
        Insert: {
          "attempts"?: number;
          "customer_id"?: string | null;
          "id": string;
          "last_error"?: string | null;
          "payload": NonNullable<Json>;
          "processed_at"?: string | null;
          "received_at"?: string;
          "stripe_created_at": string;
          "type": string;
          "unlinkable_at"?: string | null;
        };
        Update: {
          "attempts"?: number;
          "customer_id"?: string | null;
          "id"?: string;
          "last_error"?: string | null;
          "payload"?: NonNullable<Json>;
          "processed_at"?: string | null;
          "received_at"?: string;
          "stripe_created_at"?: string;
          "type"?: string;
          "unlinkable_at"?: string | null;
        };
        Relationships: [];
      };
      "subscriptions": {
        Row: {
          "account_id": string;
          "cancel_at_period_end": boolean;
          "canceled_at": string | null;
          "created_at": string;
          "current_period_end": string | null;
          "current_period_start": string | null;
          "id": string;
          "item_id": string | null;
          "plan_id": string | null;
          "price_id": string | null;
          "provider": string;
          "quantity": number | null;
          "status": string;
          "stripe_event_at": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "cancel_at_period_end"?: boolean;
          "canceled_at"?: string | null;
          "created_at"?: string;
          "current_period_end"?: string | null;
          "current_period_start"?: string | null;
          "id": string;
          "item_id"?: string | null;
          "plan_id"?: string | null;
          "price_id"?: string | null;
          "provider"?: string;
          "quantity"?: number | null;
          "status": string;
          "stripe_event_at": string;
          "updated_at"?: string;
        };
        Update: {
          "account_id"?: string;
          "cancel_at_period_end"?: boolean;
          "canceled_at"?: string | null;
          "created_at"?: string;
          "current_period_end"?: string | null;
          "current_period_start"?: string | null;
          "id"?: string;
          "item_id"?: string | null;
          "plan_id"?: string | null;
          "price_id"?: string | null;
          "provider"?: string;
          "quantity"?: number | null;
          "status"?: string;
          "stripe_event_at"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "subscriptions_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "subscriptions_plan_id_fkey";
            columns: ["plan_id"];
            isOneToOne: false;
            referencedRelation: "plans";
            referencedColumns: ["id"];
          },
        ];
      };
      "team_roles": {
        Row: {
          "name": string;
          "rights": (string)[];
          "role": string;
          "sort_order": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "name": string;
          "rights"?: (string)[];
          "role": string;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Update: {
          "name"?: string;
          "rights"?: (string)[];
          "role"?: string;
          "sort_order"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "usage_counters": {
        Row: {
          "account_id": string;
          "feature_id": string;
          "period_key": string;
          "updated_at": string;
          "used": number;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "feature_id": string;
          "period_key": string;
          "updated_at"?: string;
          "used"?: number;
        };
        Update: {
          "account_id"?: string;
          "feature_id"?: string;
          "period_key"?: string;
          "updated_at"?: string;
          "used"?: number;
        };
        Relationships: [];
      };
      "user_secrets": {
        Row: {
          "account_id": string;
          "ciphertext": string;
          "created_at": string;
          "created_by": string | null;
          "key_id": string;
          "last4": string;
          "nonce": string;
          "provider": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "ciphertext": string;
          "created_at"?: string;
          "created_by"?: string | null;
          "key_id": string;
          "last4": string;
          "nonce": string;
          "provider": string;
          "updated_at"?: string;
        };
        Update: {
          "account_id"?: string;
          "ciphertext"?: string;
          "created_at"?: string;
          "created_by"?: string | null;
          "key_id"?: string;
          "last4"?: string;
          "nonce"?: string;
          "provider"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "user_secrets_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: false;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
      "wallets": {
        Row: {
          "account_id": string;
          "balance": number;
          "expiring": number;
          "next_due_at": string | null;
          "reserved": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "account_id": string;
          "balance"?: number;
          "expiring"?: number;
          "next_due_at"?: string | null;
          "reserved"?: number;
          "updated_at"?: string;
        };
        Update: {
          "account_id"?: string;
          "balance"?: number;
          "expiring"?: number;
          "next_due_at"?: string | null;
          "reserved"?: number;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "wallets_account_id_fkey";
            columns: ["account_id"];
            isOneToOne: true;
            referencedRelation: "accounts";
            referencedColumns: ["id"];
          },
        ];
      };
    };
    Views: {
      [_ in never]: never;
    };
    Functions: {
      "accept_invitation": {
        Args: { "token": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_adjust_credits": {
        Args: { "account_id": string; "amount": number; "idempotency_key"?: string; "reason": string };
        Returns: Database["public"]["CompositeTypes"]["credit_adjustment"];
        SetofOptions: {
          from: "*";
          to: "credit_adjustment";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_create_api_key": {
        Args: {
          "account"?: string;
          "expires_at"?: string;
          "name": string;
          "scopes"?: (string)[];
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["api_key_created"];
        SetofOptions: {
          from: "*";
          to: "api_key_created";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_decide_cashout": {
        Args: { "approve": boolean; "cashout_id": string; "reason"?: string };
        Returns: Database["public"]["CompositeTypes"]["cashout_status"];
        SetofOptions: {
          from: "*";
          to: "cashout_status";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_issue_license": {
        Args: { "account_id": string; "expires_at"?: string; "product_id": string; "user_id"?: string };
        Returns: Database["public"]["CompositeTypes"]["license_issued"];
        SetofOptions: {
          from: "*";
          to: "license_issued";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_kpis": {
        Args: { "bucket"?: string; "from_date": string; "to_date": string };
        Returns: Database["public"]["CompositeTypes"]["kpi_report"];
        SetofOptions: {
          from: "*";
          to: "kpi_report";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_list_emails": {
        Args: { "page"?: number; "page_size"?: number; "status"?: string; "user_id"?: string };
        Returns: {
          "attempts": number;
          "category": string | null;
          "claimed_by": string | null;
          "claimed_until": string | null;
          "created_at": string;
          "dedupe_key": string;
          "delivered_at": string | null;
          "delivery_status": string | null;
          "id": number;
          "last_error": string | null;
          "last_event_at": string | null;
          "next_attempt_at": string;
          "payload": NonNullable<Json>;
          "provider": string | null;
          "provider_message_id": string | null;
          "sent_at": string | null;
          "status": string;
          "template": string;
          "to_email": string | null;
          "user_id": string | null;
        }[];
        SetofOptions: {
          from: "*";
          to: "email_outbox";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "admin_rollback_runtime_settings": {
        Args: { "note"?: string; "version": number };
        Returns: {
          "changes": NonNullable<Json>;
          "created_at": string;
          "created_by": string | null;
          "note": string;
          "rolled_back_to": number | null;
          "settings": NonNullable<Json>;
          "version": number;
        };
        SetofOptions: {
          from: "*";
          to: "runtime_settings_versions";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_runtime_settings": {
        Args: Record<PropertyKey, never>;
        Returns: Database["public"]["CompositeTypes"]["runtime_setting"][];
        SetofOptions: {
          from: "*";
          to: "runtime_setting";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "admin_search_users": {
        Args: { "page"?: number; "page_size"?: number; "search"?: string };
        Returns: {
          "cash_available_cents": number;
          "created_at": string;
          "credits": number;
          "display_name": string;
          "email": string;
          "id": string;
          "last_active_at": string;
          "plan_id": string;
          "role": string;
        }[];
      };
      "admin_set_plan": {
        Args: { "account_id": string; "plan_id": string };
        Returns: Database["public"]["CompositeTypes"]["plan_assignment"];
        SetofOptions: {
          from: "*";
          to: "plan_assignment";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_set_role": {
        Args: { "role": string; "user_id": string };
        Returns: Database["public"]["CompositeTypes"]["role_assignment"];
        SetofOptions: {
          from: "*";
          to: "role_assignment";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "admin_set_runtime_settings": {
        Args: { "changes": Json; "expected_version"?: number; "note": string };
        Returns: {
          "changes": NonNullable<Json>;
          "created_at": string;
          "created_by": string | null;
          "note": string;
          "rolled_back_to": number | null;
          "settings": NonNullable<Json>;
          "version": number;
        };
        SetofOptions: {
          from: "*";
          to: "runtime_settings_versions";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "charge_credits": {
        Args: { "account"?: string; "feature": string; "idempotency_key"?: string; "quantity"?: number };
        Returns: Database["public"]["CompositeTypes"]["credit_charge"];
        SetofOptions: {
          from: "*";
          to: "credit_charge";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "check_feature": {
        Args: { "account"?: string; "feature": string; "quantity"?: number };
        Returns: Database["public"]["CompositeTypes"]["feature_check"];
        SetofOptions: {
          from: "*";
          to: "feature_check";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "claim_license_key": {
        Args: { "license_id": string };
        Returns: Database["public"]["CompositeTypes"]["license_issued"];
        SetofOptions: {
          from: "*";
          to: "license_issued";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "create_api_key": {
        Args: { "account"?: string; "expires_at"?: string; "name": string; "scopes"?: (string)[] };
        Returns: Database["public"]["CompositeTypes"]["api_key_created"];
        SetofOptions: {
          from: "*";
          to: "api_key_created";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "create_team": {
        Args: { "name": string; "slug": string };
        Returns: {
          "billed_seat_version": number | null;
          "billed_seats": number | null;
          "billed_subscription": string | null;
          "created_at": string;
          "created_by": string | null;
          "id": string;
          "kind": string;
          "name": string;
          "personal_user_id": string | null;
          "plan_id": string | null;
          "seat_version": number;
          "seats_billed_at": string | null;
          "seats_bought": number | null;
          "seats_changed_at": string | null;
          "slug": string | null;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "accounts";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "credit_amount_price": {
        Args: { "amount_cents": number };
        Returns: Database["public"]["CompositeTypes"]["amount_price"];
        SetofOptions: {
          from: "*";
          to: "amount_price";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "credit_pack_price": {
        Args: { "account"?: string; "pack_id": string };
        Returns: Database["public"]["CompositeTypes"]["pack_price"];
        SetofOptions: {
          from: "*";
          to: "pack_price";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "deactivate_license_machine": {
        Args: { "machine_id": string };
        Returns: {
          "account_id": string;
          "created_at": string;
          "fingerprint": string;
          "id": string;
          "last_heartbeat_at": string;
          "license_id": string;
          "name": string | null;
          "platform": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "license_machines";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "decline_invitation": {
        Args: { "token": string };
        Returns: {
          "accepted_at": string | null;
          "accepted_by": string | null;
          "account_id": string;
          "created_at": string;
          "declined_at": string | null;
          "declined_by": string | null;
          "email": string | null;
          "expires_at": string;
          "id": string;
          "invited_by": string | null;
          "max_uses": number | null;
          "revoked_at": string | null;
          "revoked_by": string | null;
          "role": string;
          "token_hash": string;
          "token_prefix": string;
          "uses": number;
        };
        SetofOptions: {
          from: "*";
          to: "account_invitations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "delete_team": {
        Args: { "account": string };
        Returns: {
          "billed_seat_version": number | null;
          "billed_seats": number | null;
          "billed_subscription": string | null;
          "created_at": string;
          "created_by": string | null;
          "id": string;
          "kind": string;
          "name": string;
          "personal_user_id": string | null;
          "plan_id": string | null;
          "seat_version": number;
          "seats_billed_at": string | null;
          "seats_bought": number | null;
          "seats_changed_at": string | null;
          "slug": string | null;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "accounts";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "get_runtime_status": {
        Args: Record<PropertyKey, never>;
        Returns: Database["public"]["CompositeTypes"]["runtime_status"];
        SetofOptions: {
          from: "*";
          to: "runtime_status";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "get_wallet": {
        Args: { "account"?: string };
        Returns: Database["public"]["CompositeTypes"]["wallet_summary"];
        SetofOptions: {
          from: "*";
          to: "wallet_summary";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "invite_member": {
        Args: { "account": string; "email"?: string; "role": string };
        Returns: Database["public"]["CompositeTypes"]["team_invitation"];
        SetofOptions: {
          from: "*";
          to: "team_invitation";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "leave_team": {
        Args: { "account": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "license_id_for_key": { Args: { "key": string }; Returns: string };
      "list_api_keys": {
        Args: { "account"?: string; "user_id"?: string };
        Returns: Database["public"]["CompositeTypes"]["api_key_info"][];
        SetofOptions: {
          from: "*";
          to: "api_key_info";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "list_conversations": {
        Args: { "older_than"?: string; "page_size"?: number };
        Returns: {
          "created_at": string;
          "id": string;
          "last_message": string;
          "last_message_at": string;
          "last_message_role": string;
          "message_count": number;
          "persona": string;
          "title": string;
        }[];
      };
      "list_team_members": {
        Args: { "account"?: string };
        Returns: Database["public"]["CompositeTypes"]["team_member"][];
        SetofOptions: {
          from: "*";
          to: "team_member";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "list_user_secrets": {
        Args: { "account"?: string };
        Returns: Database["public"]["CompositeTypes"]["user_secret"][];
        SetofOptions: {
          from: "*";
          to: "user_secret";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "mark_notifications_read": { Args: { "ids"?: (string)[] }; Returns: number };
      "referral_stats": {
        Args: Record<PropertyKey, never>;
        Returns: Database["public"]["CompositeTypes"]["referral_summary"];
        SetofOptions: {
          from: "*";
          to: "referral_summary";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "reinstate_license": {
        Args: { "license_id": string };
        Returns: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "duration_days": number | null;
          "entitlements": (string)[];
          "expires_at": string | null;
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at": string | null;
          "max_machines": number | null;
          "max_major_version": number | null;
          "product_id": string;
          "purchase_id": string | null;
          "renews_with_subscription": boolean;
          "revoked_at": string | null;
          "source": string;
          "status": string;
          "subscription_id": string | null;
          "suspended_at": string | null;
          "suspended_by_admin": boolean;
          "updated_at": string;
          "user_id": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "licenses";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "release_reservation": {
        Args: { "account"?: string; "reservation_id": string };
        Returns: Database["public"]["CompositeTypes"]["reservation_release"];
        SetofOptions: {
          from: "*";
          to: "reservation_release";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "remove_member": {
        Args: { "account": string; "user_id": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "rename_api_key": {
        Args: { "key_id": string; "name": string };
        Returns: Database["public"]["CompositeTypes"]["api_key_info"];
        SetofOptions: {
          from: "*";
          to: "api_key_info";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "renew_license": {
        Args: { "days"?: number; "license_id": string };
        Returns: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "duration_days": number | null;
          "entitlements": (string)[];
          "expires_at": string | null;
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at": string | null;
          "max_machines": number | null;
          "max_major_version": number | null;
          "product_id": string;
          "purchase_id": string | null;
          "renews_with_subscription": boolean;
          "revoked_at": string | null;
          "source": string;
          "status": string;
          "subscription_id": string | null;
          "suspended_at": string | null;
          "suspended_by_admin": boolean;
          "updated_at": string;
          "user_id": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "licenses";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "request_cashout": {
        Args: { "amount_cents": number };
        Returns: Database["public"]["CompositeTypes"]["cashout_status"];
        SetofOptions: {
          from: "*";
          to: "cashout_status";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "reserve_credits": {
        Args: {
          "account"?: string;
          "feature": string;
          "idempotency_key"?: string;
          "max_credits"?: number;
          "quantity"?: number;
        };
        Returns: Database["public"]["CompositeTypes"]["reservation_hold"];
        SetofOptions: {
          from: "*";
          to: "reservation_hold";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "reset_license_key": {
        Args: { "license_id": string };
        Returns: Database["public"]["CompositeTypes"]["license_issued"];
        SetofOptions: {
          from: "*";
          to: "license_issued";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "revoke_api_key": {
        Args: { "key_id": string };
        Returns: Database["public"]["CompositeTypes"]["api_key_info"];
        SetofOptions: {
          from: "*";
          to: "api_key_info";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "revoke_invitation": {
        Args: { "invitation_id": string };
        Returns: {
          "accepted_at": string | null;
          "accepted_by": string | null;
          "account_id": string;
          "created_at": string;
          "declined_at": string | null;
          "declined_by": string | null;
          "email": string | null;
          "expires_at": string;
          "id": string;
          "invited_by": string | null;
          "max_uses": number | null;
          "revoked_at": string | null;
          "revoked_by": string | null;
          "role": string;
          "token_hash": string;
          "token_prefix": string;
          "uses": number;
        };
        SetofOptions: {
          from: "*";
          to: "account_invitations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "revoke_license": {
        Args: { "license_id": string };
        Returns: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "duration_days": number | null;
          "entitlements": (string)[];
          "expires_at": string | null;
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at": string | null;
          "max_machines": number | null;
          "max_major_version": number | null;
          "product_id": string;
          "purchase_id": string | null;
          "renews_with_subscription": boolean;
          "revoked_at": string | null;
          "source": string;
          "status": string;
          "subscription_id": string | null;
          "suspended_at": string | null;
          "suspended_by_admin": boolean;
          "updated_at": string;
          "user_id": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "licenses";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_activate_machine": {
        Args: {
          "client_ip"?: string;
          "fingerprint": string;
          "key": string;
          "name"?: string;
          "platform"?: string;
        };
        Returns: Database["public"]["CompositeTypes"]["license_machine_result"];
        SetofOptions: {
          from: "*";
          to: "license_machine_result";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_add_release_artifact": {
        Args: {
          "actor": string;
          "content_type"?: string;
          "filename": string;
          "platform": string;
          "release_id": string;
          "sha256": string;
          "size": number;
          "storage_path": string;
        };
        Returns: {
          "content_type": string;
          "created_at": string;
          "created_by": string | null;
          "filename": string;
          "id": string;
          "platform": string;
          "release_id": string;
          "sha256": string;
          "size": number;
          "storage_path": string;
        };
        SetofOptions: {
          from: "*";
          to: "release_artifacts";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_authorize_download": {
        Args: {
          "account"?: string;
          "country"?: string;
          "fingerprint"?: string;
          "license_key"?: string;
          "platform": string;
          "product": string;
          "user_id"?: string;
          "version": string;
        };
        Returns: Database["public"]["CompositeTypes"]["release_download"];
        SetofOptions: {
          from: "*";
          to: "release_download";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_billing_customer": {
        Args: {
          "account_id": string;
          "needed_right": string;
          "stripe_customer_id"?: string;
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["billing_customer"];
        SetofOptions: {
          from: "*";
          to: "billing_customer";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_check_license": {
        Args: {
          "client_ip"?: string;
          "fingerprint"?: string;
          "key": string;
          "product"?: string;
          "version"?: string;
        };
        Returns: Database["public"]["CompositeTypes"]["license_validation"];
        SetofOptions: {
          from: "*";
          to: "license_validation";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_checkout_seats": {
        Args: { "account_id": string; "plan_id": string; "seats"?: number };
        Returns: number;
      };
      "service_role_claim_auth_email": {
        Args: {
          "dedupe_key": string;
          "email_action_type": string;
          "template": string;
          "to_email": string;
          "user_id": string;
          "webhook_id": string;
        };
        Returns: {
          "id": number;
          "send": boolean;
          "status": string;
        }[];
      };
      "service_role_claim_cashout": {
        Args: { "cashout_id": string };
        Returns: Database["public"]["CompositeTypes"]["cashout_claim"];
        SetofOptions: {
          from: "*";
          to: "cashout_claim";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_claim_emails": {
        Args: { "batch_size"?: number; "lease_seconds"?: number; "worker": string };
        Returns: Database["public"]["CompositeTypes"]["email_claim"][];
        SetofOptions: {
          from: "*";
          to: "email_claim";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "service_role_complete_email": {
        Args: { "category"?: string; "email_id": number; "message_id": string; "provider": string };
        Returns: boolean;
      };
      "service_role_count_release_request": {
        Args: { "client_ip"?: string; "license_key": string };
        Returns: undefined;
      };
      "service_role_create_release": {
        Args: {
          "actor": string;
          "channel": string;
          "entitlements"?: (string)[];
          "notes"?: string;
          "product": string;
          "version": string;
        };
        Returns: {
          "channel": string;
          "created_at": string;
          "created_by": string | null;
          "entitlements": (string)[];
          "id": string;
          "notes": string;
          "prerelease": boolean;
          "product_id": string;
          "published_at": string | null;
          "version": string;
          "version_key": string;
          "yank_reason": string | null;
          "yanked_at": string | null;
          "yanked_by": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "releases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_deactivate_machine": {
        Args: { "client_ip"?: string; "fingerprint": string; "key": string };
        Returns: Database["public"]["CompositeTypes"]["license_machine_result"];
        SetofOptions: {
          from: "*";
          to: "license_machine_result";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_debit_credits": {
        Args: {
          "account_id": string;
          "allow_partial"?: boolean;
          "amount": number;
          "idempotency_key"?: string;
          "kind"?: string;
          "reason"?: string;
          "reference"?: string;
        };
        Returns: Database["public"]["CompositeTypes"]["credit_debit"];
        SetofOptions: {
          from: "*";
          to: "credit_debit";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_delete_generation": {
        Args: { "account_id": string; "generation_id": string; "user_id": string };
        Returns: {
          "account_id": string;
          "bytes": number | null;
          "completed_at": string | null;
          "cost": number;
          "created_at": string;
          "duration_ms": number | null;
          "error": string | null;
          "free": boolean;
          "held": number;
          "id": string;
          "idempotency_key": string;
          "mime_type": string | null;
          "model": string | null;
          "prompt": string;
          "provider": string | null;
          "provider_ms": number | null;
          "reservation_id": string | null;
          "size": string;
          "status": string;
          "storage_path": string | null;
          "style": string | null;
          "user_id": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "generations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_delete_user_secret": {
        Args: { "account_id": string; "provider": string; "user_id": string };
        Returns: undefined;
      };
      "service_role_fail_email": {
        Args: {
          "base_seconds"?: number;
          "email_id": number;
          "error": string;
          "max_attempts"?: number;
          "max_seconds"?: number;
          "retry_after_seconds"?: number;
          "retryable": boolean;
          "worker": string;
        };
        Returns: string;
      };
      "service_role_fail_generation": {
        Args: {
          "duration_ms"?: number;
          "error": string;
          "generation_id": string;
          "model"?: string;
          "provider"?: string;
          "provider_ms"?: number;
          "status": string;
        };
        Returns: Database["public"]["CompositeTypes"]["generation_outcome"];
        SetofOptions: {
          from: "*";
          to: "generation_outcome";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_finish_generation": {
        Args: {
          "bytes": number;
          "duration_ms": number;
          "generation_id": string;
          "mime_type": string;
          "model": string;
          "provider": string;
          "provider_ms": number;
          "storage_path": string;
        };
        Returns: Database["public"]["CompositeTypes"]["generation_outcome"];
        SetofOptions: {
          from: "*";
          to: "generation_outcome";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_forget_customer": { Args: { "customer_id": string }; Returns: boolean };
      "service_role_grant_credits": {
        Args: {
          "account_id": string;
          "amount": number;
          "expires_at"?: string;
          "idempotency_key"?: string;
          "kind"?: string;
          "reason"?: string;
          "reference"?: string;
        };
        Returns: Database["public"]["CompositeTypes"]["credit_grant"];
        SetofOptions: {
          from: "*";
          to: "credit_grant";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_latest_release": {
        Args: {
          "channel": string;
          "current_version"?: string;
          "fingerprint"?: string;
          "license_key"?: string;
          "platform": string;
          "product": string;
        };
        Returns: Database["public"]["CompositeTypes"]["release_offer"];
        SetofOptions: {
          from: "*";
          to: "release_offer";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_license_details": {
        Args: { "client_ip"?: string; "key": string };
        Returns: Database["public"]["CompositeTypes"]["license_details"];
        SetofOptions: {
          from: "*";
          to: "license_details";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_list_conversations": {
        Args: { "anon_session_hash": string; "older_than"?: string; "page_size"?: number };
        Returns: {
          "created_at": string;
          "id": string;
          "last_message": string;
          "last_message_at": string;
          "last_message_role": string;
          "message_count": number;
          "persona": string;
          "title": string;
        }[];
      };
      "service_role_machine_heartbeat": {
        Args: { "client_ip"?: string; "fingerprint": string; "key": string };
        Returns: Database["public"]["CompositeTypes"]["license_machine_result"];
        SetofOptions: {
          from: "*";
          to: "license_machine_result";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_payable_cashouts": {
        Args: { "max_count"?: number };
        Returns: {
          "cashout_id": string;
        }[];
      };
      "service_role_polar_account": {
        Args: { "account_hint": string; "customer_id": string; "external_id": string };
        Returns: string;
      };
      "service_role_publish_release": {
        Args: { "actor": string; "release_id": string };
        Returns: {
          "channel": string;
          "created_at": string;
          "created_by": string | null;
          "entitlements": (string)[];
          "id": string;
          "notes": string;
          "prerelease": boolean;
          "product_id": string;
          "published_at": string | null;
          "version": string;
          "version_key": string;
          "yank_reason": string | null;
          "yanked_at": string | null;
          "yanked_by": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "releases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_put_user_secret": {
        Args: {
          "account_id": string;
          "ciphertext": string;
          "key_id": string;
          "last4": string;
          "nonce": string;
          "provider": string;
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["user_secret"];
        SetofOptions: {
          from: "*";
          to: "user_secret";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_read_user_secret": {
        Args: { "account_id": string; "provider": string; "user_id": string };
        Returns: {
          "ciphertext": string;
          "key_id": string;
          "nonce": string;
        }[];
      };
      "service_role_record_auth_email": {
        Args: {
          "error"?: string;
          "id": number;
          "provider"?: string;
          "provider_message_id"?: string;
          "sent": boolean;
        };
        Returns: undefined;
      };
      "service_role_record_chat_exchange": {
        Args: {
          "account_id"?: string;
          "anon_session_hash": string;
          "answer": string;
          "completion_tokens": number;
          "conversation_id": string;
          "model": string;
          "new_conversation": boolean;
          "persona": string;
          "prompt_tokens": number;
          "provider": string;
          "question": string;
          "reservation_id": string;
          "status": string;
          "title": string;
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["chat_exchange"];
        SetofOptions: {
          from: "*";
          to: "chat_exchange";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_credit_purchase": {
        Args: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "credits": number;
          "currency": string;
          "discount_percent": number;
          "pack_id": string;
          "payment_intent_id": string;
        };
        Returns: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "created_at": string;
          "credits": number;
          "credits_clawed_back": number;
          "currency": string;
          "discount_percent": number;
          "id": string;
          "license_product_id": string | null;
          "pack_id": string | null;
          "payment_intent_id": string | null;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "purchases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_email_event": {
        Args: {
          "email"?: string;
          "event_id": string;
          "message_id"?: string;
          "occurred_at"?: string;
          "payload"?: Json;
          "provider": string;
          "type": string;
        };
        Returns: Database["public"]["CompositeTypes"]["email_event_result"];
        SetofOptions: {
          from: "*";
          to: "email_event_result";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_installation_outcome": {
        Args: {
          "account_id": string;
          "api_key_prefix"?: string;
          "client_version"?: string;
          "error_message"?: string;
          "installation_id": string;
          "mcp_config"?: Json;
          "server_info"?: Json;
          "server_url"?: string;
          "status": string;
          "user_id": string;
        };
        Returns: {
          "account_id": string;
          "api_key_prefix": string | null;
          "checked_at": string | null;
          "client": string;
          "client_version": string | null;
          "created_at": string;
          "error_message": string | null;
          "id": string;
          "mcp_config": Json | null;
          "server_info": Json | null;
          "server_url": string | null;
          "status": string;
          "updated_at": string;
          "user_id": string;
          "validated_at": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "installations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_invoice": {
        Args: {
          "account_id": string;
          "amount_due": number;
          "amount_paid": number;
          "billing_reason": string;
          "currency": string;
          "hosted_invoice_url": string;
          "invoice_id": string;
          "period_lines"?: Json;
          "status": string;
          "subscription_id": string;
        };
        Returns: {
          "account_id": string;
          "amount_due": number;
          "amount_paid": number;
          "created_at": string;
          "credits_clawed_back": number;
          "credits_granted": number;
          "currency": string;
          "hosted_invoice_url": string | null;
          "id": string;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "subscription_id": string | null;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "invoices";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_license_purchase": {
        Args: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "currency": string;
          "payment_intent_id": string;
          "product_id": string;
        };
        Returns: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "created_at": string;
          "credits": number;
          "credits_clawed_back": number;
          "currency": string;
          "discount_percent": number;
          "id": string;
          "license_product_id": string | null;
          "pack_id": string | null;
          "payment_intent_id": string | null;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "purchases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_payout": {
        Args: {
          "actor"?: string;
          "attempt": number;
          "cashout_id": string;
          "failure"?: string;
          "final"?: boolean;
          "new_key"?: boolean;
          "transfer_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["payout_outcome"];
        SetofOptions: {
          from: "*";
          to: "payout_outcome";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_polar_invoice": {
        Args: {
          "account_id": string;
          "amount_paid": number;
          "billing_reason": string;
          "currency": string;
          "order_id": string;
          "period_lines": Json;
          "subscription_id": string;
        };
        Returns: {
          "account_id": string;
          "amount_due": number;
          "amount_paid": number;
          "created_at": string;
          "credits_clawed_back": number;
          "credits_granted": number;
          "currency": string;
          "hosted_invoice_url": string | null;
          "id": string;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "subscription_id": string | null;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "invoices";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_polar_purchase": {
        Args: {
          "account_id": string;
          "amount_cents": number;
          "checkout_id": string;
          "credits": number;
          "currency": string;
          "discount_percent": number;
          "order_id": string;
          "pack_id": string;
        };
        Returns: {
          "account_id": string;
          "amount_cents": number;
          "checkout_session_id": string;
          "created_at": string;
          "credits": number;
          "credits_clawed_back": number;
          "currency": string;
          "discount_percent": number;
          "id": string;
          "license_product_id": string | null;
          "pack_id": string | null;
          "payment_intent_id": string | null;
          "provider": string;
          "refunded_cents": number;
          "status": string;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "purchases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_record_seats": {
        Args: { "account_id": string; "quantity": number; "seat_version": number; "subscription_id": string };
        Returns: boolean;
      };
      "service_role_referral_first_payment": { Args: { "user_id": string }; Returns: string };
      "service_role_release_downloads": {
        Args: { "from_date": string; "product": string; "to_date": string };
        Returns: Database["public"]["CompositeTypes"]["release_download_count"][];
        SetofOptions: {
          from: "*";
          to: "release_download_count";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "service_role_release_reservation": {
        Args: { "account_id": string; "reservation_id": string; "user_id": string };
        Returns: Database["public"]["CompositeTypes"]["reservation_release"];
        SetofOptions: {
          from: "*";
          to: "reservation_release";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_renew_reservation": {
        Args: { "account_id": string; "reservation_id": string; "user_id": string };
        Returns: Database["public"]["CompositeTypes"]["reservation_lease"];
        SetofOptions: {
          from: "*";
          to: "reservation_lease";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_reserve_chat": {
        Args: {
          "account_id": string;
          "idempotency_key": string;
          "models": (string)[];
          "persona": string;
          "user_id": string;
          "worst_tokens": (number)[];
        };
        Returns: Database["public"]["CompositeTypes"]["chat_hold"];
        SetofOptions: {
          from: "*";
          to: "chat_hold";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_reserve_credits": {
        Args: {
          "account_id": string;
          "feature": string;
          "idempotency_key"?: string;
          "max_credits"?: number;
          "quantity"?: number;
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["reservation_hold"];
        SetofOptions: {
          from: "*";
          to: "reservation_hold";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_restore_release": {
        Args: { "actor": string; "release_id": string };
        Returns: {
          "channel": string;
          "created_at": string;
          "created_by": string | null;
          "entitlements": (string)[];
          "id": string;
          "notes": string;
          "prerelease": boolean;
          "product_id": string;
          "published_at": string | null;
          "version": string;
          "version_key": string;
          "yank_reason": string | null;
          "yanked_at": string | null;
          "yanked_by": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "releases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_return_anon_chat": { Args: { "session_hash": string }; Returns: undefined };
      "service_role_return_payment": {
        Args: {
          "amount": number;
          "invoice_id"?: string;
          "kind": string;
          "payment_intent": string;
          "return_id": string;
        };
        Returns: string;
      };
      "service_role_runtime_settings": {
        Args: Record<PropertyKey, never>;
        Returns: Database["public"]["CompositeTypes"]["runtime_settings_snapshot"];
        SetofOptions: {
          from: "*";
          to: "runtime_settings_snapshot";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_seat_quantity": {
        Args: { "account_id": string; "user_id"?: string };
        Returns: Database["public"]["CompositeTypes"]["seat_quantity"];
        SetofOptions: {
          from: "*";
          to: "seat_quantity";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_seats_due": { Args: { "max_accounts"?: number }; Returns: string[] };
      "service_role_skip_email": {
        Args: { "category"?: string; "email_id": number; "reason": string; "worker": string };
        Returns: boolean;
      };
      "service_role_start_generation": {
        Args: {
          "account_id": string;
          "feature": string;
          "idempotency_key": string;
          "models": (string)[];
          "prompt": string;
          "size": string;
          "style": string;
          "user_id": string;
        };
        Returns: Database["public"]["CompositeTypes"]["generation_start"];
        SetofOptions: {
          from: "*";
          to: "generation_start";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_store_polar_event": {
        Args: { "created": string; "error"?: string; "id": string; "payload": Json; "type": string };
        Returns: boolean;
      };
      "service_role_store_stripe_event": {
        Args: {
          "created": string;
          "error"?: string;
          "error_code"?: string;
          "id": string;
          "payload": Json;
          "type": string;
        };
        Returns: boolean;
      };
      "service_role_stripe_account": {
        Args: { "account_hint": string; "customer_id": string };
        Returns: string;
      };
      "service_role_sync_config": {
        Args: { "catalog": Json };
        Returns: Database["public"]["CompositeTypes"]["config_sync_summary"];
        SetofOptions: {
          from: "*";
          to: "config_sync_summary";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_sync_images": { Args: { "catalog": Json }; Returns: undefined };
      "service_role_sync_licensing": { Args: { "catalog": Json }; Returns: undefined };
      "service_role_sync_notifications": { Args: { "catalog": Json }; Returns: undefined };
      "service_role_sync_releases": { Args: { "catalog": Json }; Returns: undefined };
      "service_role_sync_runtime_settings": { Args: { "catalog": Json }; Returns: undefined };
      "service_role_take_anon_chat": { Args: { "session_hash": string }; Returns: number };
      "service_role_take_rate_limit": {
        Args: { "bucket": string; "max": number; "window_seconds": number };
        Returns: number;
      };
      "service_role_track_installation": {
        Args: {
          "account_id": string;
          "client": string;
          "client_version"?: string;
          "mcp_config"?: Json;
          "user_id": string;
        };
        Returns: {
          "account_id": string;
          "api_key_prefix": string | null;
          "checked_at": string | null;
          "client": string;
          "client_version": string | null;
          "created_at": string;
          "error_message": string | null;
          "id": string;
          "mcp_config": Json | null;
          "server_info": Json | null;
          "server_url": string | null;
          "status": string;
          "updated_at": string;
          "user_id": string;
          "validated_at": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "installations";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_unsubscribe_email": { Args: { "email": string; "source"?: string }; Returns: string };
      "service_role_upsert_polar_subscription": {
        Args: {
          "account_id": string;
          "cancel_at_period_end": boolean;
          "canceled_at": string;
          "event_at": string;
          "id": string;
          "period_end": string;
          "period_start": string;
          "price_id": string;
          "status": string;
        };
        Returns: boolean;
      };
      "service_role_upsert_subscription": {
        Args: {
          "account_id": string;
          "cancel_at_period_end": boolean;
          "canceled_at": string;
          "event_at": string;
          "id": string;
          "item_id"?: string;
          "period_end": string;
          "period_start": string;
          "price_id": string;
          "quantity"?: number;
          "status": string;
        };
        Returns: boolean;
      };
      "service_role_validate_license": {
        Args: { "fingerprint"?: string; "key": string; "product"?: string; "version"?: string };
        Returns: Database["public"]["CompositeTypes"]["license_validation"];
        SetofOptions: {
          from: "*";
          to: "license_validation";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "service_role_verify_api_key": {
        Args: {
          "client_ip"?: string;
          "ip_max"?: number;
          "ip_window_seconds"?: number;
          "key_hash": string;
          "key_max"?: number;
          "key_window_seconds"?: number;
        };
        Returns: Database["public"]["CompositeTypes"]["verified_api_key"][];
        SetofOptions: {
          from: "*";
          to: "verified_api_key";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      "service_role_waiting_stripe_events": {
        Args: { "customer_id"?: string; "max_events"?: number };
        Returns: {
          "id": string;
          "payload": Json;
        }[];
      };
      "service_role_yank_release": {
        Args: { "actor": string; "reason"?: string; "release_id": string };
        Returns: {
          "channel": string;
          "created_at": string;
          "created_by": string | null;
          "entitlements": (string)[];
          "id": string;
          "notes": string;
          "prerelease": boolean;
          "product_id": string;
          "published_at": string | null;
          "version": string;
          "version_key": string;
          "yank_reason": string | null;
          "yanked_at": string | null;
          "yanked_by": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "releases";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "set_email_notifications": { Args: { "enabled": boolean }; Returns: boolean };
      "set_member_role": {
        Args: { "account": string; "role": string; "user_id": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "set_member_spend_cap": {
        Args: { "account": string; "monthly_credits": number; "user_id": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "settle_reservation": {
        Args: { "account"?: string; "actual": number; "reservation_id": string };
        Returns: Database["public"]["CompositeTypes"]["reservation_settlement"];
        SetofOptions: {
          from: "*";
          to: "reservation_settlement";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "suspend_license": {
        Args: { "license_id": string };
        Returns: {
          "account_id": string;
          "created_at": string;
          "created_by": string | null;
          "duration_days": number | null;
          "entitlements": (string)[];
          "expires_at": string | null;
          "floating": boolean;
          "grace_days": number;
          "heartbeat_minutes": number | null;
          "id": string;
          "key_hash": string;
          "key_prefix": string;
          "last_validated_at": string | null;
          "max_machines": number | null;
          "max_major_version": number | null;
          "product_id": string;
          "purchase_id": string | null;
          "renews_with_subscription": boolean;
          "revoked_at": string | null;
          "source": string;
          "status": string;
          "subscription_id": string | null;
          "suspended_at": string | null;
          "suspended_by_admin": boolean;
          "updated_at": string;
          "user_id": string | null;
        };
        SetofOptions: {
          from: "*";
          to: "licenses";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "transfer_ownership": {
        Args: { "account": string; "user_id": string };
        Returns: {
          "account_id": string;
          "joined_at": string;
          "monthly_spend_cap": number | null;
          "role": string;
          "user_id": string;
        };
        SetofOptions: {
          from: "*";
          to: "account_members";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "update_team": {
        Args: { "account": string; "name"?: string; "slug"?: string };
        Returns: {
          "billed_seat_version": number | null;
          "billed_seats": number | null;
          "billed_subscription": string | null;
          "created_at": string;
          "created_by": string | null;
          "id": string;
          "kind": string;
          "name": string;
          "personal_user_id": string | null;
          "plan_id": string | null;
          "seat_version": number;
          "seats_billed_at": string | null;
          "seats_bought": number | null;
          "seats_changed_at": string | null;
          "slug": string | null;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "accounts";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
    };
    Enums: {
      [_ in never]: never;
    };
    CompositeTypes: {
      "amount_price": {
        "amount_cents": number | null;
        "credits": number | null;
        "min_cents": number | null;
        "max_cents": number | null;
      };
      "api_key_created": {
        "id": string | null;
        "key": string | null;
        "account_id": string | null;
        "user_id": string | null;
        "name": string | null;
        "prefix": string | null;
        "last4": string | null;
        "scopes": (string)[] | null;
        "expires_at": string | null;
        "created_at": string | null;
      };
      "api_key_info": {
        "id": string | null;
        "account_id": string | null;
        "user_id": string | null;
        "name": string | null;
        "prefix": string | null;
        "last4": string | null;
        "scopes": (string)[] | null;
        "expires_at": string | null;
        "last_used_at": string | null;
        "revoked_at": string | null;
        "created_at": string | null;
      };
      "billing_customer": {
        "account_id": string | null;
        "kind": string | null;
        "name": string | null;
        "email": string | null;
        "stripe_customer_id": string | null;
        "customers_deleted": number | null;
        "subscribed": boolean | null;
      };
      "cashout_claim": {
        "cashout_id": string | null;
        "status": string | null;
        "user_id": string | null;
        "amount_cents": number | null;
        "currency": string | null;
        "attempt": number | null;
        "destination": string | null;
        "transfer_id": string | null;
      };
      "cashout_status": {
        "cashout_id": string | null;
        "status": string | null;
        "amount_cents": number | null;
      };
      "chat_exchange": {
        "message_id": number | null;
        "credits_charged": number | null;
        "balance": number | null;
        "credits_unpaid": number | null;
      };
      "chat_hold": {
        "reservation_id": string | null;
        "amount": number | null;
        "free_units": number | null;
        "balance": number | null;
        "expires_at": string | null;
        "lifetime_seconds": number | null;
        "covered": (boolean)[] | null;
      };
      "config_sync_summary": {
        "features": number | null;
        "plans": number | null;
        "plan_quotas": number | null;
        "credit_packs": number | null;
        "chat_personas": number | null;
        "chat_models": number | null;
        "team_roles": number | null;
      };
      "credit_adjustment": {
        "account_id": string | null;
        "amount": number | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "credit_charge": {
        "usage_id": number | null;
        "feature": string | null;
        "quantity": number | null;
        "free_units": number | null;
        "credits_charged": number | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "credit_debit": {
        "ledger_id": number | null;
        "debited": number | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "credit_grant": {
        "ledger_id": number | null;
        "amount": number | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "email_claim": {
        "id": number | null;
        "user_id": string | null;
        "template": string | null;
        "dedupe_key": string | null;
        "payload": Json | null;
        "to_email": string | null;
        "locale": string | null;
        "attempts": number | null;
        "suppression": string | null;
      };
      "email_event_result": {
        "recorded": boolean | null;
        "outbox_id": number | null;
        "suppressed": boolean | null;
      };
      "feature_check": {
        "allowed": boolean | null;
        "reason": string | null;
        "feature": string | null;
        "plan": string | null;
        "free_remaining": number | null;
        "credit_cost": number | null;
        "unit_credits": number | null;
        "discount": number | null;
        "unlimited": boolean | null;
        "period": string | null;
        "resets_at": string | null;
        "balance": number | null;
      };
      "feature_credits": {
        "feature": string | null;
        "credits": number | null;
      };
      "funnel_step": {
        "step": string | null;
        "users": number | null;
      };
      "generation_outcome": {
        "generation_id": string | null;
        "status": string | null;
        "cost": number | null;
        "free": boolean | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "generation_start": {
        "generation_id": string | null;
        "status": string | null;
        "replayed": boolean | null;
        "reservation_id": string | null;
        "held": number | null;
        "free": boolean | null;
        "balance": number | null;
        "covered": (boolean)[] | null;
        "storage_path": string | null;
      };
      "kpi_bucket": {
        "start": string | null;
        "signups": number | null;
        "active_users": number | null;
        "credits_consumed": number | null;
        "revenue_cents": number | null;
        "new_paying_accounts": number | null;
        "churned_subscriptions": number | null;
      };
      "kpi_range": {
        "from": string | null;
        "to": string | null;
        "bucket": string | null;
      };
      "kpi_report": {
        "range": Database["public"]["CompositeTypes"]["kpi_range"] | null;
        "totals": Database["public"]["CompositeTypes"]["kpi_totals"] | null;
        "credits_by_feature": (Database["public"]["CompositeTypes"]["feature_credits"])[] | null;
        "funnel": (Database["public"]["CompositeTypes"]["funnel_step"])[] | null;
        "series": (Database["public"]["CompositeTypes"]["kpi_bucket"])[] | null;
      };
      "kpi_totals": {
        "signups": number | null;
        "active_users": number | null;
        "dau": number | null;
        "wau": number | null;
        "mau": number | null;
        "credits_consumed": number | null;
        "revenue_cents": number | null;
        "paying_accounts": number | null;
        "new_paying_accounts": number | null;
        "conversion_rate": number | null;
        "mrr_cents": number | null;
        "churned_subscriptions": number | null;
        "churn_rate": number | null;
        "revenue_per_user_cents": number | null;
        "revenue_per_paying_account_cents": number | null;
      };
      "license_details": {
        "license_id": string | null;
        "product_id": string | null;
        "product_name": string | null;
        "status": string | null;
        "key_prefix": string | null;
        "expires_at": string | null;
        "grace_until": string | null;
        "entitlements": (string)[] | null;
        "floating": boolean | null;
        "max_machines": number | null;
        "heartbeat_minutes": number | null;
        "max_major_version": number | null;
        "machines_used": number | null;
        "machines": Json | null;
        "created_at": string | null;
        "validation": Database["public"]["CompositeTypes"]["license_validation"] | null;
      };
      "license_issued": {
        "license_id": string | null;
        "key": string | null;
        "account_id": string | null;
        "product_id": string | null;
        "status": string | null;
        "expires_at": string | null;
        "created_at": string | null;
      };
      "license_machine_result": {
        "machine_id": string | null;
        "license_id": string | null;
        "fingerprint": string | null;
        "name": string | null;
        "platform": string | null;
        "last_heartbeat_at": string | null;
        "created_at": string | null;
        "activated": boolean | null;
        "machines_used": number | null;
        "machines_max": number | null;
      };
      "license_validation": {
        "valid": boolean | null;
        "code": string | null;
        "license_id": string | null;
        "account_id": string | null;
        "product_id": string | null;
        "expires_at": string | null;
        "entitlements": (string)[] | null;
        "machines_used": number | null;
        "machines_max": number | null;
      };
      "pack_price": {
        "pack": string | null;
        "credits": number | null;
        "price_cents": number | null;
        "discount_percent": number | null;
        "final_cents": number | null;
      };
      "payout_outcome": {
        "cashout_id": string | null;
        "status": string | null;
        "transfer_id": string | null;
        "failure": string | null;
        "retry": boolean | null;
        "replayed": boolean | null;
      };
      "plan_assignment": {
        "account_id": string | null;
        "plan_id": string | null;
      };
      "referral_summary": {
        "code": string | null;
        "share_link": string | null;
        "referred_count": number | null;
        "rewarded_count": number | null;
        "pending_count": number | null;
        "credits_earned": number | null;
        "cash_earned_cents": number | null;
        "cash_available_cents": number | null;
        "cash_pending_cents": number | null;
        "cash_paid_out_cents": number | null;
        "currency": string | null;
      };
      "release_download": {
        "download_id": number | null;
        "release_id": string | null;
        "product_id": string | null;
        "version": string | null;
        "platform": string | null;
        "filename": string | null;
        "storage_path": string | null;
        "sha256": string | null;
        "size": number | null;
        "account_id": string | null;
        "license_id": string | null;
      };
      "release_download_count": {
        "day": string | null;
        "release_id": string | null;
        "version": string | null;
        "downloads": number | null;
        "accounts": number | null;
      };
      "release_offer": {
        "release_id": string | null;
        "product_id": string | null;
        "version": string | null;
        "channel": string | null;
        "notes": string | null;
        "published_at": string | null;
        "platform": string | null;
        "filename": string | null;
        "sha256": string | null;
        "size": number | null;
        "rollback": boolean | null;
      };
      "reservation_hold": {
        "reservation_id": string | null;
        "status": string | null;
        "amount": number | null;
        "free_units": number | null;
        "balance": number | null;
        "expires_at": string | null;
        "replayed": boolean | null;
      };
      "reservation_lease": {
        "reservation_id": string | null;
        "status": string | null;
        "expires_at": string | null;
        "lifetime_seconds": number | null;
      };
      "reservation_release": {
        "reservation_id": string | null;
        "released": number | null;
        "balance": number | null;
        "replayed": boolean | null;
      };
      "reservation_settlement": {
        "reservation_id": string | null;
        "usage_id": number | null;
        "credits_charged": number | null;
        "refunded": number | null;
        "balance": number | null;
        "replayed": boolean | null;
        "cost": number | null;
        "unpaid": number | null;
      };
      "role_assignment": {
        "user_id": string | null;
        "role": string | null;
      };
      "runtime_setting": {
        "key": string | null;
        "kind": string | null;
        "value_type": string | null;
        "min": number | null;
        "max": number | null;
        "allowed": Json | null;
        "default_value": Json | null;
        "override_value": Json | null;
        "value": Json | null;
        "description": string | null;
      };
      "runtime_settings_snapshot": {
        "version": number | null;
        "values": Json | null;
      };
      "runtime_status": {
        "maintenance": boolean | null;
        "maintenance_message": string | null;
        "announcement": string | null;
        "announcement_level": string | null;
        "version": number | null;
        "changed_at": string | null;
      };
      "seat_quantity": {
        "account_id": string | null;
        "subscription_id": string | null;
        "item_id": string | null;
        "quantity": number | null;
        "wanted": number | null;
        "members": number | null;
        "seats_bought": number | null;
        "seat_version": number | null;
        "needs_update": boolean | null;
      };
      "team_invitation": {
        "invitation_id": string | null;
        "account_id": string | null;
        "email": string | null;
        "role": string | null;
        "token": string | null;
        "token_prefix": string | null;
        "expires_at": string | null;
        "max_uses": number | null;
      };
      "team_member": {
        "user_id": string | null;
        "role": string | null;
        "display_name": string | null;
        "avatar_url": string | null;
        "email": string | null;
        "monthly_spend_cap": number | null;
        "joined_at": string | null;
      };
      "user_secret": {
        "provider": string | null;
        "last4": string | null;
        "created_by": string | null;
        "created_at": string | null;
        "updated_at": string | null;
      };
      "verified_api_key": {
        "id": string | null;
        "account_id": string | null;
        "user_id": string | null;
        "scopes": (string)[] | null;
      };
      "wallet_lot": {
        "amount": number | null;
        "expires_at": string | null;
      };
      "wallet_quota": {
        "feature": string | null;
        "unlimited": boolean | null;
        "period": string | null;
        "limit": number | null;
        "overage": string | null;
        "used": number | null;
        "remaining": number | null;
        "resets_at": string | null;
      };
      "wallet_summary": {
        "balance": number | null;
        "reserved": number | null;
        "plan": string | null;
        "discount": number | null;
        "expiring": (Database["public"]["CompositeTypes"]["wallet_lot"])[] | null;
        "quotas": (Database["public"]["CompositeTypes"]["wallet_quota"])[] | null;
        "spend_cap": number | null;
        "spend_left": number | null;
      };
    };
  };
};

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">;

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">];

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof (
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
    )
    : never = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals } ? (
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
  )[TableName] extends {
    Row: infer R;
  } ? R
  : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R;
    } ? R
    : never
  : never;

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
    Insert: infer I;
  } ? I
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I;
    } ? I
    : never
  : never;

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
    Update: infer U;
  } ? U
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U;
    } ? U
    : never
  : never;

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never,
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never;

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never,
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never;

export const Constants = {
  "public": {
    Enums: {},
  },
} as const;
