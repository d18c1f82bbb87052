-- Demo data for local runs (`npm run dev`, `supabase db reset`). Applied once per content by
-- `supabase db push --include-seed` / `supabase db reset`; never push it to production.
-- Plans, features and credit packs are not seeded here: they come from saasbase.config.ts (`npm run config:sync`).

-- A demo admin and a demo customer, as GoTrue would have written them on sign-up (password: "password"):
-- the token columns empty, not NULL (GoTrue cannot read NULL there, and refuses the sign-in), and an email
-- identity each.
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token, recovery_token,
  email_change_token_new, email_change)
values
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000a001', 'authenticated', 'authenticated',
   'admin@example.com', extensions.crypt('password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{"display_name": "Demo Admin"}', now(), now(),
   '', '', '', ''),
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000c001', 'authenticated', 'authenticated',
   'customer@example.com', extensions.crypt('password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}', '{"display_name": "Demo Customer"}', now(), now(),
   '', '', '', '')
on conflict (id) do nothing;
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true), 'email',
  now(), now(), now()
from auth.users u
where u.id in ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000c001')
on conflict (provider_id, provider) do nothing;

-- Demo credits for the customer on top of the sign-up grant, whatever order the config sync ran in.
select public.service_role_grant_credits('00000000-0000-4000-8000-00000000c001', 500, 'grant', 'demo credits', 'seed-demo');
