//! Unit tests: one table per rule and error, and the invariants `verify` guards.

use crate::*;
use suanli_core::money::Fen;

const FUND: AccountId = AccountId(1);
const BUDGET: AccountId = AccountId(2);
const VOUCHER: AccountId = AccountId(3);
const PROVIDER: AccountId = AccountId(4);
const PLATFORM: AccountId = AccountId(5);
const HKD_ACCOUNT: AccountId = AccountId(6);

fn tid(n: u128) -> TransferId {
    TransferId(n)
}

fn single(id: u128, dr: AccountId, cr: AccountId, amount: i64) -> Transfer {
    Transfer::single(tid(id), dr, cr, Fen(amount), ReasonCode::Adjustment, "ref", 1_000)
}

fn pending(id: u128, dr: AccountId, cr: AccountId, amount: i64, timeout_ms: Option<i64>) -> Transfer {
    Transfer::pending(tid(id), dr, cr, Fen(amount), ReasonCode::VoucherSpend, "job_1", 1_000, timeout_ms)
}

/// External funding -> budget 1000 -> voucher 600; a platform account without rules.
fn ledger() -> Ledger {
    let mut l = Ledger::new();
    let accounts = [
        Account::cny(FUND, AccountKind::ExternalFunding),
        Account::cny(BUDGET, AccountKind::ProgrammeBudget),
        Account::cny(VOUCHER, AccountKind::EnterpriseVoucher),
        Account::cny(PROVIDER, AccountKind::ProviderReceivable),
        Account::cny(PLATFORM, AccountKind::Platform),
        Account::new(HKD_ACCOUNT, AccountKind::Platform, Currency::new("HKD").unwrap(), AccountFlags::NONE),
    ];
    assert!(l.create_accounts(&accounts).iter().all(|r| *r == Ok(Outcome::Created)));
    let r = l.apply(&[single(100, FUND, BUDGET, 1000), single(101, BUDGET, VOUCHER, 600)], true);
    assert_eq!(r, vec![Ok(Outcome::Created), Ok(Outcome::Created)]);
    l
}

fn one(l: &mut Ledger, t: Transfer) -> Result<Outcome, LedgerError> {
    let r = l.apply(&[t], false).remove(0);
    l.verify().unwrap_or_else(|v| panic!("verify failed: {v:?}"));
    r
}

#[test]
fn refused_transfers_have_their_codes_and_change_nothing() {
    let cases: Vec<(&str, Transfer, &str)> = vec![
        ("zero id", single(0, BUDGET, VOUCHER, 1), "invalid_transfer_id"),
        ("reserved id", single(1 << 127, BUDGET, VOUCHER, 1), "invalid_transfer_id"),
        ("same account", single(1, BUDGET, BUDGET, 1), "same_account"),
        ("zero amount", single(1, BUDGET, VOUCHER, 0), "zero_amount"),
        ("negative amount", single(1, BUDGET, VOUCHER, -5), "negative_amount"),
        ("unknown debit", single(1, AccountId(99), VOUCHER, 1), "unknown_account"),
        ("unknown credit", single(1, BUDGET, AccountId(99), 1), "unknown_account"),
        ("currency mismatch", single(1, PLATFORM, HKD_ACCOUNT, 1), "currency_mismatch"),
        ("overdraw", single(1, VOUCHER, PROVIDER, 601), "insufficient_funds"),
        ("overdraw pending", pending(1, VOUCHER, PROVIDER, 601, None), "insufficient_funds"),
        ("refund beyond funding", single(1, BUDGET, FUND, 1001), "insufficient_funds"),
        ("credit funding beyond debits", single(1, PLATFORM, FUND, 1001), "credits_exceed_debits"),
        ("zero timeout", pending(1, VOUCHER, PROVIDER, 1, Some(0)), "invalid_timeout"),
        (
            "unrepresentable deadline",
            {
                let mut t = pending(1, VOUCHER, PROVIDER, 1, Some(i64::MAX));
                t.timestamp_ms = 1;
                t
            },
            "invalid_timeout",
        ),
        ("overflow", single(1, PLATFORM, VOUCHER, i64::MAX), "amount_out_of_range"),
        ("post unknown pending", Transfer::post(tid(1), &pending(77, VOUCHER, PROVIDER, 5, None), None, 2_000), "pending_not_found"),
        ("post a single", Transfer::post(tid(1), &single(101, BUDGET, VOUCHER, 600), None, 2_000), "not_pending"),
        ("duplicate differs", single(101, BUDGET, VOUCHER, 601), "duplicate_transfer_differs"),
    ];
    for (name, t, code) in cases {
        let mut l = ledger();
        let before: Vec<Account> = l.accounts().cloned().collect();
        let history = l.transfers().len();
        let e = one(&mut l, t).expect_err(name);
        assert_eq!(e.code(), code, "{name}: {e}");
        assert_eq!(suanli_core::Error::from(e).code.as_str(), code, "{name}");
        assert_eq!(l.accounts().cloned().collect::<Vec<_>>(), before, "{name} changed balances");
        assert_eq!(l.transfers().len(), history, "{name} changed history");
    }
}

#[test]
fn accounts_are_checked_and_idempotent() {
    let mut l = ledger();
    let mut funded = Account::cny(AccountId(10), AccountKind::EnterpriseCash);
    funded.credits_posted = 5;
    let both = Account::new(
        AccountId(11),
        AccountKind::Platform,
        Currency::CNY,
        AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: true },
    );
    let cases: Vec<(Account, Result<Outcome, &str>)> = vec![
        (Account::cny(AccountId(0), AccountKind::Platform), Err("invalid_account_id")),
        (funded, Err("invalid_account")),
        (both, Err("invalid_account")),
        (Account::cny(BUDGET, AccountKind::ProgrammeBudget), Ok(Outcome::Exists)),
        (Account::cny(BUDGET, AccountKind::EnterpriseCash), Err("account_exists_differs")),
        (Account::cny(AccountId(12), AccountKind::EnterpriseCash), Ok(Outcome::Created)),
    ];
    for (a, want) in cases {
        let got = l.create_accounts(std::slice::from_ref(&a)).remove(0).map_err(|e| e.code());
        assert_eq!(got, want, "{a:?}");
    }
    assert_eq!(Currency::new("cny"), None);
    assert_eq!(Currency::CNY.to_string(), "CNY");
}

#[test]
fn retries_answer_exists_even_with_a_new_timestamp() {
    let mut l = ledger();
    let mut retry = single(101, BUDGET, VOUCHER, 600);
    retry.timestamp_ms = 9_999;
    assert_eq!(one(&mut l, retry), Ok(Outcome::Exists));
    assert_eq!(l.account(VOUCHER).unwrap().credit_balance(), Fen(600));
    let mut other_reference = single(101, BUDGET, VOUCHER, 600);
    other_reference.reference = "other".into();
    assert_eq!(one(&mut l, other_reference).unwrap_err().code(), "duplicate_transfer_differs");
}

#[test]
fn pending_reserves_post_moves_less_and_releases_the_rest() {
    let mut l = ledger();
    let p = pending(1, VOUCHER, PROVIDER, 400, None);
    assert_eq!(one(&mut l, p.clone()), Ok(Outcome::Created));
    let v = l.account(VOUCHER).unwrap();
    assert_eq!((v.debits_pending, v.available(), v.credit_balance()), (400, Fen(200), Fen(600)));
    // The reservation counts against the rule: 201 more would overdraw.
    assert_eq!(one(&mut l, single(2, VOUCHER, PROVIDER, 201)).unwrap_err().code(), "insufficient_funds");
    assert_eq!(one(&mut l, Transfer::post(tid(3), &p, Some(Fen(401)), 2_000)).unwrap_err().code(), "exceeds_pending");
    assert_eq!(one(&mut l, Transfer::post(tid(3), &p, Some(Fen(0)), 2_000)).unwrap_err().code(), "zero_amount");
    let mut wrong = Transfer::post(tid(3), &p, None, 2_000);
    wrong.amount = Fen(300);
    assert_eq!(one(&mut l, wrong).unwrap_err().code(), "pending_differs");
    assert_eq!(one(&mut l, Transfer::post(tid(3), &p, Some(Fen(250)), 2_000)), Ok(Outcome::Created));
    let v = l.account(VOUCHER).unwrap();
    assert_eq!((v.debits_pending, v.debits_posted, v.available()), (0, 250, Fen(350)));
    assert_eq!(l.account(PROVIDER).unwrap().credit_balance(), Fen(250));
    assert_eq!(l.pending_state(tid(1)), Some(PendingState::Posted { amount: Fen(250) }));
    assert_eq!(one(&mut l, Transfer::post(tid(4), &p, None, 2_000)).unwrap_err().code(), "already_posted");
    assert_eq!(one(&mut l, Transfer::void(tid(4), &p, 2_000)).unwrap_err().code(), "already_posted");
}

#[test]
fn void_releases_and_cannot_repeat() {
    let mut l = ledger();
    let p = pending(1, VOUCHER, PROVIDER, 400, None);
    one(&mut l, p.clone()).unwrap();
    assert_eq!(one(&mut l, Transfer::void(tid(2), &p, 2_000)), Ok(Outcome::Created));
    assert_eq!(l.account(VOUCHER).unwrap().available(), Fen(600));
    assert_eq!(l.account(PROVIDER).unwrap().credits_pending, 0);
    for t in [Transfer::void(tid(3), &p, 2_000), Transfer::post(tid(3), &p, None, 2_000)] {
        assert_eq!(one(&mut l, t).unwrap_err().code(), "already_voided");
    }
}

#[test]
fn timed_out_pending_transfers_expire_in_deadline_order() {
    let mut l = ledger();
    let late = pending(1, VOUCHER, PROVIDER, 100, Some(5_000));
    let early = pending(2, VOUCHER, PROVIDER, 100, Some(1_000));
    let never = pending(3, VOUCHER, PROVIDER, 100, None);
    for t in [&late, &early, &never] {
        one(&mut l, t.clone()).unwrap();
    }
    // A post at or after the deadline is too late even before the sweep.
    assert_eq!(one(&mut l, Transfer::post(tid(9), &early, None, 2_000)).unwrap_err().code(), "pending_expired");
    assert_eq!(l.expire_pending(1_999), vec![]);
    assert_eq!(l.expire_pending(2_000), vec![tid(2)]);
    assert_eq!(l.expire_pending(2_000), vec![]);
    assert_eq!(l.expire_pending(i64::MAX), vec![tid(1)]);
    assert_eq!(l.pending_state(tid(1)), Some(PendingState::Expired));
    assert_eq!(l.pending_state(tid(3)), Some(PendingState::Open { expires_at_ms: None }));
    assert_eq!(l.account(VOUCHER).unwrap().debits_pending, 100);
    let record = l.transfer(TransferId::expiry_of(tid(2))).unwrap();
    assert_eq!((record.reason, record.timestamp_ms), (ReasonCode::PendingTimeout, 2_000));
    assert_eq!(one(&mut l, Transfer::void(tid(9), &early, 3_000)).unwrap_err().code(), "pending_expired");
    let report = l.verify().unwrap();
    assert_eq!((report.open_pending, report.pending_total, report.posted_total), (1, 100, 1600));
}

#[test]
fn linked_batches_commit_all_or_nothing() {
    let mut l = ledger();
    let before: Vec<Account> = l.accounts().cloned().collect();
    let p = pending(1, VOUCHER, PROVIDER, 100, Some(10));
    let batch = [p.clone(), single(2, BUDGET, VOUCHER, 50), Transfer::post(tid(3), &p, None, 1_001), single(4, VOUCHER, PROVIDER, 10_000)];
    let r = l.apply(&batch, true);
    let codes: Vec<_> = r.iter().map(|r| r.as_ref().map_err(LedgerError::code)).collect();
    assert_eq!(codes, vec![Err("linked_failed"), Err("linked_failed"), Err("linked_failed"), Err("insufficient_funds")]);
    assert_eq!(l.accounts().cloned().collect::<Vec<_>>(), before);
    assert_eq!(l.transfers().len(), 2);
    assert_eq!(l.pending_state(tid(1)), None);
    assert_eq!(l.expire_pending(i64::MAX), vec![], "a rolled-back pending transfer leaves no deadline behind");
    l.verify().unwrap();
    // Without the failing member the batch commits; a retry answers Exists throughout.
    assert_eq!(l.apply(&batch[..3], true), vec![Ok(Outcome::Created); 3]);
    assert_eq!(l.apply(&batch[..3], true), vec![Ok(Outcome::Exists); 3]);
    // Unlinked, members stand alone.
    let r = l.apply(&[single(5, BUDGET, VOUCHER, 1), single(6, BUDGET, VOUCHER, 0)], false);
    assert_eq!(r[0], Ok(Outcome::Created));
    assert_eq!(r[1].as_ref().unwrap_err().code(), "zero_amount");
    l.verify().unwrap();
}

#[test]
fn verify_finds_tampered_stored_data() {
    let mut l = ledger();
    let p = pending(1, VOUCHER, PROVIDER, 100, None);
    one(&mut l, p.clone()).unwrap();
    one(&mut l, Transfer::post(tid(2), &p, Some(Fen(60)), 2_000)).unwrap();
    let accounts: Vec<Account> = l.accounts().cloned().collect();
    let transfers = l.transfers().to_vec();
    assert!(Ledger::from_stored(accounts.clone(), transfers.clone()).verify().is_ok());

    // A balance edited in the store: totals, replay and (here) the rule all disagree.
    let mut edited = accounts.clone();
    edited.iter_mut().find(|a| a.id == VOUCHER).unwrap().debits_posted += 1000;
    let v = Ledger::from_stored(edited, transfers.clone()).verify().unwrap_err();
    assert!(v.iter().any(|v| matches!(v, Violation::PostedTotalsDiffer { .. })), "{v:?}");
    assert!(v.iter().any(|v| matches!(v, Violation::BalanceMismatch { account: VOUCHER, .. })), "{v:?}");
    assert!(v.iter().any(|v| matches!(v, Violation::RuleCrossed { account: VOUCHER, .. })), "{v:?}");

    // A lost pending record: the post dangles.
    let mut lost = transfers.clone();
    lost.retain(|t| t.id != tid(1));
    let v = Ledger::from_stored(accounts.clone(), lost).verify().unwrap_err();
    assert!(v.iter().any(|v| matches!(v, Violation::DanglingPendingReference { index: 2, .. })), "{v:?}");

    // A duplicated record.
    let mut doubled = transfers.clone();
    doubled.push(transfers[0].clone());
    let v = Ledger::from_stored(accounts.clone(), doubled).verify().unwrap_err();
    assert!(v.iter().any(|v| matches!(v, Violation::DuplicateId { index: 4, .. })), "{v:?}");
    assert!(v.iter().all(|v| !v.to_string().is_empty()));

    // Replay is what verify compares against.
    let replayed = Ledger::replay(&accounts, &transfers).unwrap();
    assert_eq!(replayed.accounts().cloned().collect::<Vec<_>>(), accounts);
}

#[test]
fn default_rules_follow_the_account_kind() {
    let cases = [
        (AccountKind::ProgrammeBudget, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        (AccountKind::EnterpriseVoucher, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        (AccountKind::EnterpriseCash, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        (AccountKind::ProviderReceivable, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        (AccountKind::ExternalFunding, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        (AccountKind::Platform, AccountFlags::NONE),
    ];
    for (kind, flags) in cases {
        assert_eq!(kind.default_flags(), flags, "{kind:?}");
    }
    let l = ledger();
    assert_eq!(l.account(FUND).unwrap().debit_balance(), Fen(1000));
    assert_eq!(l.account(BUDGET).unwrap().credit_balance(), Fen(400));
}
