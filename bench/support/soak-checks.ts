// What the soak proves after its run (bench/support/soak-run.ts): the ledger's own invariants, read from the
// database, and the database held against what each client was told and what Stripe holds. Each check returns
// the rows that break it; none may.
import type postgres from "postgres";
import { config } from "../../supabase/functions/_shared/config.ts";

/** What the clients did and were told. */
/** The checker's own statement of chat's price (SQL's saasbase.chat_price charges it): the persona's price per
 * message plus the model's rate for every started 1,000 tokens. */
function priceOf(perMessage: number, per1kTokens: number, tokens: number): number {
  return perMessage + Math.ceil((tokens * per1kTokens) / 1000);
}

export interface Journal {
  charges: { user: string; key: string; feature: string; quantity: number; charged?: number; replayedAs?: number }[];
  reservations: { user: string; key: string; feature: string; byServer: boolean; id?: string }[];
  chats: {
    user: string;
    question: string;
    idempotencyKey: string;
    behaviour: "read" | "stop";
    /** done: the whole answer and its `done`; stopped: the client left after a token; broke_off: an `error`
     * event; cut: some tokens, then the connection died; no_answer: nothing; refused: a 4xx/5xx before any. */
    outcome: "done" | "stopped" | "broke_off" | "cut" | "no_answer" | "refused";
    received: string;
    status?: number;
    error?: string;
    done?: { messageId: number; charged: number };
  }[];
  purchases: { user: string; session: string; paymentIntent: string; credits: number; amount: number; customer: string }[];
  refunds: { paymentIntent: string; amountRefunded: number }[];
  disputes: { paymentIntent: string; dispute: string; amount: number }[];
  invoices: { user: string; invoice: string; subscription: string; periodStart: number; credits: number; amount: number; delivered?: boolean }[];
  invoiceRefunds: { invoice: string; amountRefunded: number }[];
  referralSignups: number;
  cashouts: { id: string; user: string; amount: number }[];
  webhookRefusals: { event: string; type: string; status: number; body: unknown }[];
  /** Each subscription and whether its last event was the cancellation. */
  subscriptions: { user: string; subscription: string; plan: string; cancelled: boolean }[];
}

export interface Violation {
  check: string;
  detail: string;
}

export interface Context {
  transfers: { id: string; amount: number; transfer_group: string | null; destination: string }[];
  paidPlan: string;
  /** The moment the last due-work pass ran at: every reservation due by then must be closed. */
  checkedAt: Date;
  pendingEvents: number;
}

export async function checkLedger(sql: postgres.Sql, journal: Journal, ctx: Context) {
  const violations: Violation[] = [];
  const checks: { name: string; checked: number; violations: number }[] = [];
  const check = async (name: string, body: () => Promise<{ checked: number; bad: string[] }>) => {
    const { checked, bad } = await body();
    checks.push({ name, checked, violations: bad.length });
    for (const detail of bad) violations.push({ check: name, detail });
  };
  const list = (rows: object[]) => rows.map((r) => JSON.stringify(r));

  // 1. The wallet: balance = ledger sum, never negative, its holds and lots add up.
  await check("balance = ledger sum for every wallet", async () => {
    const [{ n }] = await sql`select count(*)::int as n from public.wallets`;
    const bad = await sql`select w.account_id, w.balance, coalesce(l.total, 0) as ledger_sum, l.last_after
      from public.wallets w
      left join (select account_id, sum(amount) as total,
          (array_agg(balance_after order by id desc))[1] as last_after
        from public.credit_ledger group by account_id) l on l.account_id = w.account_id
      where w.balance <> coalesce(l.total, 0) or w.balance <> coalesce(l.last_after, 0)`;
    return { checked: n, bad: list(bad) };
  });
  await check("no negative balance", async () => {
    const bad = await sql`
      select 'wallet' as what, account_id::text, balance as value from public.wallets where balance < 0 or reserved < 0 or expiring < 0
      union all select 'ledger row', id::text, balance_after from public.credit_ledger where balance_after < 0
      union all select 'cash wallet', user_id::text, available_cents from public.cash_wallets
        where available_cents < 0 or held_cents < 0 or paid_out_cents < 0`;
    const [{ n }] = await sql`select (select count(*) from public.wallets) + (select count(*) from public.credit_ledger) as n`;
    return { checked: Number(n), bad: list(bad) };
  });
  await check("reserved = open holds, expiring = open lots", async () => {
    const bad = await sql`select w.account_id, w.reserved, coalesce(r.held, 0) as open_holds, w.expiring, coalesce(l.open, 0) as open_lots
      from public.wallets w
      left join (select account_id, sum(amount) as held from public.credit_reservations where status = 'open' group by account_id) r on r.account_id = w.account_id
      left join (select account_id, sum(remaining) as open from public.credit_lots where remaining > 0 group by account_id) l on l.account_id = w.account_id
      where w.reserved <> coalesce(r.held, 0) or w.expiring <> coalesce(l.open, 0)`;
    const [{ n }] = await sql`select count(*)::int as n from public.wallets`;
    return { checked: n, bad: list(bad) };
  });

  // 2. Reservations: none open past its lifetime (after the wallets' due work), each one's ledger rows add up
  // to what it finally cost, and none charged a paid use below its price.
  await check("no reservation open past its lifetime", async () => {
    const [{ n }] = await sql`select count(*)::int as n from public.credit_reservations`;
    const bad = await sql`select r.id, r.account_id, r.feature_id, r.amount, r.expires_at, w.next_due_at
      from public.credit_reservations r join public.wallets w on w.account_id = r.account_id
      where r.status = 'open' and (r.expires_at <= ${ctx.checkedAt} or w.next_due_at is null or w.next_due_at > r.expires_at)`;
    return { checked: n, bad: list(bad) };
  });
  await check("every reservation's ledger rows = what it cost", async () => {
    const [{ n }] = await sql`select count(*)::int as n from public.credit_reservations`;
    const bad = await sql`select r.id, r.status, r.amount, r.settled_amount, coalesce(sum(l.amount), 0) as ledger
      from public.credit_reservations r
      left join public.credit_ledger l on l.account_id = r.account_id and l.reservation_id = r.id
      group by r.id
      having coalesce(sum(l.amount), 0) <> case r.status when 'open' then -r.amount when 'settled' then -r.settled_amount else 0 end
        or count(*) filter (where l.kind = 'settle') > 1 or count(*) filter (where l.kind = 'release') > 1
        -- Released, then settled: only a server-held hold that lapsed under an answer delivered after it.
        or (count(*) filter (where l.kind = 'release') = 1 and r.status = 'settled' and not r.held_by_server)`;
    return { checked: n, bad: list(bad) };
  });
  await check("no paid use charged below its price", async () => {
    // A settled reservation of a paid feature (no free unit) charged less than one use costs: issue 13, 1.3.
    const bad = await sql`select r.id, r.feature_id, r.quantity, r.amount as held, r.settled_amount, f.credits * r.quantity as price
      from public.credit_reservations r join public.features f on f.id = r.feature_id
      where r.status = 'settled' and r.free_units = 0 and r.feature_id <> 'chat'
        and r.settled_amount < f.credits * r.quantity`;
    const [{ n }] = await sql`select count(*)::int as n from public.credit_reservations where status = 'settled'`;
    return { checked: n, bad: list(bad) };
  });

  // 3. Charges: each client-confirmed charge is one ledger row of what the client was told; a replay told the same.
  await check("every confirmed charge recorded once, as told", async () => {
    const rows = await sql`select account_id::text as user_id, idempotency_key, -amount as charged, count(*) over (partition by account_id, idempotency_key) as copies
      from public.credit_ledger where kind = 'charge' and idempotency_key = any(${journal.charges.map((c) => c.key)})`;
    const byKey = new Map(rows.map((r) => [`${r.user_id}/${r.idempotency_key}`, r]));
    const bad: string[] = [];
    for (const c of journal.charges) {
      const row = byKey.get(`${c.user}/${c.key}`);
      if (c.charged !== undefined && (!row || Number(row.charged) !== c.charged)) {
        bad.push(`charge ${c.key}: told ${c.charged}, ledger ${row ? row.charged : "none"}`);
      }
      if (c.replayedAs !== undefined && c.replayedAs !== c.charged) bad.push(`charge ${c.key}: replay told ${c.replayedAs}, first ${c.charged}`);
      if (row && Number(row.copies) > 1) bad.push(`charge ${c.key}: ${row.copies} ledger rows`);
    }
    return { checked: journal.charges.length, bad };
  });

  // 4. Purchases: every paid checkout granted once, nothing granted that nobody paid.
  await check("every paid purchase granted exactly once", async () => {
    const bad: string[] = [];
    const grants = await sql`select account_id::text as user_id, idempotency_key, amount, count(*) over (partition by idempotency_key) as copies
      from public.credit_ledger where kind = 'purchase'`;
    const bySession = new Map(grants.map((g) => [String(g.idempotency_key).replace(/^checkout:/, ""), g]));
    const rows = await sql`select checkout_session_id, account_id::text, credits, count(*) over (partition by checkout_session_id) as copies from public.purchases`;
    const purchaseRows = new Map(rows.map((r) => [r.checkout_session_id, r]));
    const paid = new Set(journal.purchases.map((p) => p.session));
    for (const p of journal.purchases) {
      const g = bySession.get(p.session);
      if (!g || Number(g.amount) !== p.credits || g.user_id !== p.user || Number(g.copies) !== 1) {
        bad.push(`purchase ${p.session}: paid for ${p.credits} credits, granted ${g ? `${g.amount} × ${g.copies} to ${g.user_id}` : "nothing"}`);
      }
      if (!purchaseRows.has(p.session)) bad.push(`purchase ${p.session}: no purchases row`);
    }
    for (const g of grants) if (!paid.has(String(g.idempotency_key).replace(/^checkout:/, ""))) bad.push(`grant ${g.idempotency_key} that nobody paid`);
    // Plan credits: once per paid subscription period, the plan's credits.
    const planGrants = await sql`select idempotency_key, amount, count(*) over (partition by account_id, idempotency_key) as copies
      from public.credit_ledger where kind = 'grant' and idempotency_key like 'plan:%'`;
    const byPeriod = new Map(planGrants.map((g) => [g.idempotency_key, g]));
    for (const inv of journal.invoices) {
      const g = byPeriod.get(`plan:${inv.subscription}:${inv.periodStart}`);
      if (!g || Number(g.amount) !== inv.credits || Number(g.copies) !== 1) {
        bad.push(`invoice ${inv.invoice}: plan credits ${inv.credits}, granted ${g ? `${g.amount} × ${g.copies}` : "nothing"}`);
      }
    }
    const periods = new Set(journal.invoices.map((i) => `plan:${i.subscription}:${i.periodStart}`));
    for (const g of planGrants) if (!periods.has(g.idempotency_key)) bad.push(`plan grant ${g.idempotency_key} that no invoice paid`);
    const [{ unprocessed }] = await sql`select count(*)::int as unprocessed from public.stripe_events where processed_at is null`;
    if (unprocessed || ctx.pendingEvents) bad.push(`${unprocessed} stored events unprocessed, ${ctx.pendingEvents} never acknowledged`);
    for (const r of journal.webhookRefusals) bad.push(`event ${r.event} (${r.type}) refused ${r.status}: ${JSON.stringify(r.body)}`);
    return { checked: journal.purchases.length + journal.invoices.length, bad };
  });

  // 4b. Subscriptions: the newest event wins, whatever the order of delivery, and the plan follows it.
  await check("every subscription as its newest event, the plan with it", async () => {
    const bad: string[] = [];
    const rows = await sql`select s.id, s.account_id::text as user_id, s.status, s.plan_id, a.plan_id as profile_plan
      from public.subscriptions s join public.accounts a on a.id = s.account_id`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const livePlan = new Map<string, string>();
    for (const j of journal.subscriptions) {
      const r = byId.get(j.subscription);
      const want = j.cancelled ? "canceled" : "active";
      if (!r || r.status !== want) bad.push(`subscription ${j.subscription}: its newest event says ${want}, stored ${r ? r.status : "nothing"}`);
      if (!j.cancelled) livePlan.set(j.user, j.plan);
    }
    for (const user of new Set(journal.subscriptions.map((j) => j.user))) {
      const r = rows.find((x) => x.user_id === user);
      const want = livePlan.get(user) ?? null;
      if (r && r.profile_plan !== want) bad.push(`user ${user}: plan ${r.profile_plan}, live subscription's ${want}`);
    }
    return { checked: journal.subscriptions.length, bad };
  });

  // 5. Money returned: each purchase's and invoice's refunds and chargebacks take their share back once.
  await check("every refund taken back exactly once", async () => {
    const bad: string[] = [];
    const refunded = new Map<string, number>();
    for (const r of journal.refunds) refunded.set(r.paymentIntent, Math.max(refunded.get(r.paymentIntent) ?? 0, r.amountRefunded));
    const disputed = new Map<string, number>();
    for (const d of journal.disputes) disputed.set(d.paymentIntent, (disputed.get(d.paymentIntent) ?? 0) + d.amount);
    const purchases = await sql`select p.id::text, p.payment_intent_id, p.credits, p.amount_cents, p.refunded_cents, p.credits_clawed_back,
        coalesce(-sum(l.amount), 0)::int as taken, count(l.id)::int as rows,
        (array_agg(l.balance_after order by l.id desc) filter (where l.id is not null))[1] as last_after
      from public.purchases p
      left join public.credit_ledger l on l.account_id = p.account_id and l.kind = 'refund' and l.idempotency_key like 'returned:' || p.id || ':%'
      group by p.id`;
    for (const p of purchases) {
      const expectRefunded = Math.min(refunded.get(p.payment_intent_id) ?? 0, p.amount_cents);
      const returned = Math.min(expectRefunded + (disputed.get(p.payment_intent_id) ?? 0), p.amount_cents);
      const share = p.amount_cents > 0 ? Math.round((p.credits * returned) / p.amount_cents) : 0;
      const where = `purchase ${p.payment_intent_id} (${p.credits} credits, ${returned} of ${p.amount_cents} cents returned)`;
      if (p.refunded_cents !== expectRefunded) bad.push(`${where}: refunded_cents ${p.refunded_cents}, Stripe refunded ${expectRefunded}`);
      if (p.taken !== p.credits_clawed_back) bad.push(`${where}: ledger took ${p.taken}, purchase says ${p.credits_clawed_back}`);
      // All of the share, unless the wallet ran dry on the way (the last claw-back left it at 0).
      if (p.taken > share || (p.taken < share && Number(p.last_after) !== 0)) bad.push(`${where}: took ${p.taken} of a ${share}-credit share`);
    }
    const [{ early }] = await sql`select count(*)::int as early from saasbase.early_refunds e
      where exists (select from public.purchases p where p.payment_intent_id = e.payment_intent_id)`;
    if (early) bad.push(`${early} held refunds of recorded purchases never applied`);
    const [{ disputes }] = await sql`select count(*)::int as disputes from saasbase.disputes`;
    const distinctDisputes = new Set(journal.disputes.map((d) => d.dispute)).size;
    if (disputes !== distinctDisputes) bad.push(`${disputes} disputes recorded, ${distinctDisputes} sent`);
    // Invoices: the plan credits they granted, taken back in the same proportion.
    const invRefunded = new Map<string, number>();
    for (const r of journal.invoiceRefunds) invRefunded.set(r.invoice, Math.max(invRefunded.get(r.invoice) ?? 0, r.amountRefunded));
    const invoices = await sql`select i.id, i.credits_granted, i.amount_paid, i.refunded_cents, i.credits_clawed_back,
        coalesce(-sum(l.amount), 0)::int as taken,
        (array_agg(l.balance_after order by l.id desc) filter (where l.id is not null))[1] as last_after
      from public.invoices i
      left join public.credit_ledger l on l.account_id = i.account_id and l.kind = 'refund' and l.idempotency_key like 'invoice-returned:' || i.id || ':%'
      where i.id = any(${[...invRefunded.keys()]}) group by i.id`;
    for (const i of invoices) {
      const returned = Math.min(invRefunded.get(i.id) ?? 0, i.amount_paid);
      const share = i.amount_paid > 0 ? Math.round((i.credits_granted * returned) / i.amount_paid) : 0;
      const where = `invoice ${i.id} (${i.credits_granted} credits, ${returned} of ${i.amount_paid} cents refunded)`;
      if (i.refunded_cents !== returned) bad.push(`${where}: refunded_cents ${i.refunded_cents}`);
      if (i.taken !== i.credits_clawed_back) bad.push(`${where}: ledger took ${i.taken}, invoice says ${i.credits_clawed_back}`);
      if (i.taken > share || (i.taken < share && Number(i.last_after) !== 0)) bad.push(`${where}: took ${i.taken} of a ${share}-credit share`);
    }
    return { checked: purchases.length + invoices.length, bad };
  });

  // 6. Chat: every delivered answer charged at its price, nothing charged that was not delivered.
  await check("every delivered answer charged, none charged undelivered", async () => {
    const bad: string[] = [];
    const rows = await sql`select q.content as question, a.id, a.content, a.status, a.model, a.persona, a.prompt_tokens, a.completion_tokens,
        a.credits_consumed, r.status as reservation, r.amount as held, r.settled_amount, r.free_units
      from public.messages q
      join lateral (select * from public.messages a where a.conversation_id = q.conversation_id and a.id > q.id and a.role = 'assistant'
        order by a.id limit 1) a on true
      left join public.credit_reservations r on r.id = a.reservation_id
      where q.role = 'user' and q.content = any(${journal.chats.map((c) => c.question)})`;
    const byQuestion = new Map(rows.map((r) => [r.question, r]));
    const models = new Map(config.ai.providers.flatMap((p) => p.models).map((m) => [m.id, m]));
    const personas = new Map(config.personas.map((p) => [p.id, p]));
    for (const c of journal.chats) {
      const m = byQuestion.get(c.question);
      const where = `chat "${c.question}" (${c.outcome})`;
      const charged = m ? Number(m.credits_consumed) : 0;
      if (m && (m.status === "complete" || m.status === "stopped")) {
        const paid = m.free_units === 0;
        const price = priceOf(personas.get(m.persona)?.creditsPerMessage ?? 0, models.get(m.model)?.creditsPer1kTokens ?? 0,
          m.prompt_tokens + m.completion_tokens);
        if (m.reservation !== "settled" || Number(m.settled_amount) !== charged) bad.push(`${where}: stored ${m.status}, charged ${charged}, reservation ${m.reservation} at ${m.settled_amount}`);
        if (paid && charged < price) bad.push(`${where}: charged ${charged}, its price is ${price} (held ${m.held})`);
        // Charged for text the client never got: the whole answer for a complete one, a beginning for a stopped one.
        if (m.status === "complete" && c.outcome !== "done" && c.outcome !== "stopped" && c.received !== m.content) {
          bad.push(`${where}: charged ${charged} for an answer of ${m.content.length} characters, the client got ${c.received.length}`);
        }
        if (!m.content.startsWith(c.received) && c.received !== m.content) bad.push(`${where}: the client got text that is not the stored answer`);
      } else if (m) {
        if (charged !== 0 || m.reservation === "settled") bad.push(`${where}: stored ${m.status} yet charged ${charged} (reservation ${m.reservation})`);
      }
      if (c.outcome === "done") {
        if (!m || m.status !== "complete" || Number(m.id) !== c.done!.messageId || charged !== c.done!.charged) {
          bad.push(`${where}: told message ${c.done!.messageId} charged ${c.done!.charged}; stored ${m ? `${m.id} ${m.status} charged ${charged}` : "nothing"}`);
        }
      }
      if (c.outcome === "broke_off" && charged !== 0) bad.push(`${where}: told "nothing was charged", charged ${charged}`);
    }
    // No reservation of a chat the client got nothing from is settled.
    const settledWithout = await sql`select r.id, r.idempotency_key from public.credit_reservations r
      where r.feature_id = 'chat' and r.status = 'settled'
        and not exists (select from public.messages m where m.reservation_id = r.id and m.status in ('complete', 'stopped'))`;
    for (const r of settledWithout) bad.push(`chat reservation ${r.id} settled with no answer stored`);
    return { checked: journal.chats.length, bad };
  });

  // 7. Referrals: a rewarded referral paid once (credits and cash), none past the referrer's monthly cap.
  await check("every referral rewarded once, within the cap", async () => {
    const s = await sql`select referrer_credits, referrer_cash_cents, referral_monthly_cap from saasbase.settings`;
    const bad = await sql`select f.id, f.status,
        (select count(*) from public.credit_ledger l where l.account_id = f.referrer_id and l.kind = 'referral' and l.idempotency_key = 'referral:' || f.id)::int as credit_rows,
        (select count(*) from public.cash_ledger c where c.referral_id = f.id and c.kind = 'referral')::int as cash_rows
      from public.referrals f
      where (f.status = 'rewarded') <> ((select count(*) from public.credit_ledger l where l.account_id = f.referrer_id and l.kind = 'referral'
          and l.idempotency_key = 'referral:' || f.id) = ${s[0].referrer_credits > 0 ? 1 : 0})
        or (select count(*) from public.cash_ledger c where c.referral_id = f.id and c.kind = 'referral') > 1`;
    const over = await sql`select referrer_id, count(*)::int as rewarded from public.referrals where status = 'rewarded'
      group by referrer_id, date_trunc('month', rewarded_at at time zone 'UTC') having count(*) > ${s[0].referral_monthly_cap}`;
    const [{ n }] = await sql`select count(*)::int as n from public.referrals`;
    return { checked: n, bad: [...list(bad), ...over.map((o) => `referrer ${o.referrer_id}: ${o.rewarded} rewarded in a month`)] };
  });

  // 8. Cash-outs: paid at most once, and the cash wallets add up.
  await check("every cash-out paid at most once", async () => {
    const bad: string[] = [];
    const cashouts = await sql`select id::text, user_id::text, amount_cents, status, stripe_transfer_id, claimed_at from public.cashouts`;
    const byGroup = new Map<string, typeof ctx.transfers>();
    for (const t of ctx.transfers) {
      if (!t.transfer_group) continue;
      byGroup.set(t.transfer_group, [...(byGroup.get(t.transfer_group) ?? []), t]);
    }
    for (const c of cashouts) {
      const transfers = byGroup.get(`cashout_${c.id}`) ?? [];
      const where = `cash-out ${c.id} (${c.status}, ${c.amount_cents} cents)`;
      if (transfers.length > 1) bad.push(`${where}: ${transfers.length} transfers`);
      if (transfers.some((t) => t.amount !== Number(c.amount_cents))) bad.push(`${where}: a transfer of another amount`);
      if (c.status === "paid" && (transfers.length !== 1 || transfers[0].id !== c.stripe_transfer_id)) {
        bad.push(`${where}: recorded paid by ${c.stripe_transfer_id}, Stripe has ${transfers.map((t) => t.id).join(", ") || "none"}`);
      }
      // Paid at Stripe while the cash went back to the user (rejected) or is free to be paid again (failed).
      if (transfers.length && (c.status === "rejected" || c.status === "failed" || c.status === "requested")) {
        bad.push(`${where}: Stripe transferred it`);
      }
    }
    const wallets = await sql`select w.user_id, w.available_cents, w.held_cents, w.paid_out_cents,
        coalesce((select sum(amount_cents) from public.cash_ledger l where l.user_id = w.user_id), 0) as ledger,
        coalesce((select sum(amount_cents) from public.cashouts c where c.user_id = w.user_id and c.status in ('requested', 'approved', 'paying', 'failed')), 0) as held,
        coalesce((select sum(amount_cents) from public.cashouts c where c.user_id = w.user_id and c.status = 'paid'), 0) as paid
      from public.cash_wallets w`;
    for (const w of wallets) {
      if (Number(w.available_cents) !== Number(w.ledger) || Number(w.held_cents) !== Number(w.held) || Number(w.paid_out_cents) !== Number(w.paid)) {
        bad.push(`cash wallet ${w.user_id}: available ${w.available_cents} (ledger ${w.ledger}), held ${w.held_cents} (open cash-outs ${w.held}), paid out ${w.paid_out_cents} (paid cash-outs ${w.paid})`);
      }
    }
    return { checked: cashouts.length, bad };
  });

  return { violations, checks };
}

/** Violations planted one at a time in a transaction that is rolled back, each with the check that must catch
 * it: proof that the checks can fail, run after every soak. */
const PLANTED: { name: string; caughtBy: string; plant: (tx: postgres.TransactionSql, journal: Journal, ctx: Context) => Promise<boolean> }[] = [
  {
    name: "a ledger row written past the functions (the wallet untouched)",
    caughtBy: "balance = ledger sum for every wallet",
    plant: async (tx, j) => {
      await tx`insert into public.credit_ledger (account_id, kind, amount, balance_after, reason) values (${j.charges[0]?.user ?? j.purchases[0].user}, 'grant', 7, 0, 'planted')`;
      return true;
    },
  },
  {
    name: "credits granted for a checkout nobody paid",
    caughtBy: "every paid purchase granted exactly once",
    plant: async (tx, j) => {
      const p = j.purchases[0];
      if (!p) return false;
      await tx`update public.wallets set balance = balance + 500 where account_id = ${p.user}`;
      await tx`insert into public.credit_ledger (account_id, kind, amount, balance_after, idempotency_key)
        select ${p.user}, 'purchase', 500, balance, 'checkout:cs_planted' from public.wallets where account_id = ${p.user}`;
      return true;
    },
  },
  {
    name: "a refund's claw-back counted twice",
    caughtBy: "every refund taken back exactly once",
    plant: async (tx, j) => {
      const [p] = await tx`update public.purchases set credits_clawed_back = credits_clawed_back + 1
        where id = (select id from public.purchases where payment_intent_id = any(${j.refunds.map((r) => r.paymentIntent)}) limit 1) returning id`;
      return !!p;
    },
  },
  {
    name: "a reservation left open past its lifetime",
    caughtBy: "no reservation open past its lifetime",
    plant: async (tx, _j, ctx) => {
      const [r] = await tx`update public.credit_reservations set status = 'open', expires_at = ${ctx.checkedAt}::timestamptz - interval '1 minute'
        where id = (select id from public.credit_reservations where status = 'released' limit 1) returning id`;
      return !!r;
    },
  },
  {
    name: "a delivered answer stored as charged more than the client was told",
    caughtBy: "every delivered answer charged, none charged undelivered",
    plant: async (tx, j) => {
      const done = j.chats.find((c) => c.outcome === "done");
      if (!done) return false;
      await tx`update public.messages set credits_consumed = credits_consumed + 1 where id = ${done.done!.messageId}`;
      return true;
    },
  },
  {
    name: "a cash-out transferred twice at Stripe",
    caughtBy: "every cash-out paid at most once",
    plant: async (tx, _j, ctx) => {
      const [c] = await tx`select id::text, amount_cents from public.cashouts where status = 'paid' limit 1`;
      if (!c) return false;
      ctx.transfers.push({ id: "tr_planted", amount: Number(c.amount_cents), transfer_group: `cashout_${c.id}`, destination: "acct_planted" });
      return true;
    },
  },
];

/** Plants each violation PLANTED knows and runs the checks over it; answers which were caught by their check
 * (a plant that found nothing to break in this run, say no paid cash-out yet, is reported as not planted). */
export async function checkTheChecks(sql: postgres.Sql, journal: Journal, ctx: Context) {
  const results: { name: string; planted: boolean; caught: boolean }[] = [];
  for (const p of PLANTED) {
    const transfers = [...ctx.transfers];
    let outcome = { name: p.name, planted: false, caught: false };
    await sql.begin(async (tx) => {
      const planted = await p.plant(tx, journal, ctx);
      const { violations } = planted ? await checkLedger(tx as unknown as postgres.Sql, journal, ctx) : { violations: [] };
      outcome = { name: p.name, planted, caught: violations.some((v) => v.check === p.caughtBy) };
      throw new Rollback();
    }).catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
    ctx.transfers.splice(0, ctx.transfers.length, ...transfers);
    results.push(outcome);
  }
  return results;
}

class Rollback extends Error {}
