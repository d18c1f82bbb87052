-- Accounts: a profile per user, created when GoTrue writes the auth.users row on sign-up. Roles (admin /
-- developer / customer) come from `app_metadata.role`, which only the service role can set (GoTrue's admin
-- API), so a client can never grant itself a role; the profile keeps a copy that the role helpers of the
-- foundation (saasbase.has_role, saasbase.is_admin) check the token against.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  display_name text check (char_length(display_name) <= 100),
  avatar_url text check (char_length(avatar_url) <= 2048),
  language text not null default 'en' check (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
  -- Client-writable through PostgREST: bounded, as analytics events are, so nobody can park megabytes here.
  preferences jsonb not null default '{}'
    check (jsonb_typeof(preferences) = 'object' and pg_column_size(preferences) <= 16384),
  -- Null means the default plan; set by billing (subscriptions) and the admin API, never by the client.
  plan_id text references public.plans (id),
  -- A copy of auth.users.raw_app_meta_data->>'role', kept by trigger, for listing and admin search.
  role text not null default 'customer' check (role in ('admin', 'developer', 'customer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is 'One per user: editable display fields, plus plan and role (not client-writable).';
create index profiles_plan_id on public.profiles (plan_id);

alter table public.profiles enable row level security;

create policy "Profiles are readable by their owner and admins" on public.profiles
  for select to authenticated
  using (id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Profiles are editable by their owner" on public.profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- Column privileges do what a policy cannot: the owner may update only the display fields. (Profiles are
-- made by the sign-up trigger; the service role manages them as GoTrue's admin API manages users.)
grant select on public.profiles to authenticated;
grant update (display_name, avatar_url, language, preferences) on public.profiles to authenticated;
grant select, insert, update, delete on public.profiles to service_role;

create trigger profiles_touch_updated_at before update on public.profiles
  for each row execute function saasbase.touch_updated_at();

create function saasbase.role_of(app_meta jsonb) returns text
language sql immutable
set search_path = ''
as $$
  select case when app_meta ->> 'role' in ('admin', 'developer', 'customer') then app_meta ->> 'role' else 'customer' end
$$;

-- On sign-up (GoTrue inserts into auth.users as supabase_auth_admin): the profile. SECURITY DEFINER because
-- GoTrue's role has no rights on our tables; the wallet and sign-up credits are added by the credits domain.
create function saasbase.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email, display_name, language, role)
  values (
    new.id,
    new.email,
    left(coalesce(new.raw_user_meta_data ->> 'display_name', new.raw_user_meta_data ->> 'full_name', split_part(new.email, '@', 1)), 100),
    case when new.raw_user_meta_data ->> 'language' ~ '^[a-z]{2}(-[A-Z]{2})?$' then new.raw_user_meta_data ->> 'language' else 'en' end,
    saasbase.role_of(new.raw_app_meta_data)
  );
  return new;
end;
$$;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function saasbase.handle_new_user();

-- Keeps the profile's copy of email and role when GoTrue's admin API changes them.
create function saasbase.handle_user_updated() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profiles
  set email = new.email, role = saasbase.role_of(new.raw_app_meta_data)
  where id = new.id
    and (email, role) is distinct from (new.email, saasbase.role_of(new.raw_app_meta_data));
  return new;
end;
$$;

create trigger on_auth_user_updated after update of email, raw_app_meta_data on auth.users
  for each row execute function saasbase.handle_user_updated();
