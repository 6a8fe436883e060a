//! Property test: random operation sequences keep `verify()` passing and agree with a plain reference model of balances.

use crate::*;
use proptest::prelude::*;
use std::collections::HashMap;
use suanli_core::money::Fen;

const KINDS: [AccountKind; 10] = AccountKind::ALL;

#[derive(Debug, Clone)]
enum Op {
    Create {
        account: u8,
        kind: usize,
    },
    Single {
        dr: u8,
        cr: u8,
        amount: i64,
    },
    Pending {
        dr: u8,
        cr: u8,
        amount: i64,
        timeout_ms: Option<i64>,
    },
    Post {
        pick: usize,
        amount: Option<i64>,
    },
    Void {
        pick: usize,
    },
    Expire,
    /// A linked batch of singles and pendings; `fail` appends a zero-amount member.
    Linked {
        members: Vec<(u8, u8, i64, bool)>,
        fail: bool,
    },
    Retry {
        pick: usize,
        change: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let acct = 1u8..=6;
    prop_oneof![
        2 => (acct.clone(), 0..KINDS.len()).prop_map(|(account, kind)| Op::Create { account, kind }),
        4 => (acct.clone(), acct.clone(), -1i64..400).prop_map(|(dr, cr, amount)| Op::Single { dr, cr, amount }),
        3 => (acct.clone(), acct.clone(), 1i64..400, prop::option::of(1i64..40)).prop_map(|(dr, cr, amount, timeout_ms)| Op::Pending { dr, cr, amount, timeout_ms }),
        3 => (any::<usize>(), prop::option::of(0i64..450)).prop_map(|(pick, amount)| Op::Post { pick, amount }),
        2 => any::<usize>().prop_map(|pick| Op::Void { pick }),
        1 => Just(Op::Expire),
        2 => (prop::collection::vec((acct.clone(), acct, 1i64..300, any::<bool>()), 1..4), any::<bool>()).prop_map(|(members, fail)| Op::Linked { members, fail }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, change)| Op::Retry { pick, change }),
    ]
}

/// The obvious model: balances per account, every accepted transfer by id, and open pendings.
#[derive(Debug, Clone, Default)]
struct Model {
    flags: HashMap<AccountId, AccountFlags>,
    /// [debits_pending, debits_posted, credits_pending, credits_posted]
    balances: HashMap<AccountId, [i128; 4]>,
    transfers: HashMap<TransferId, Transfer>,
    /// Open pending transfers and their deadlines.
    open: HashMap<TransferId, Option<i64>>,
}

impl Model {
    fn ok_rules(&self, id: AccountId, b: [i128; 4]) -> bool {
        let f = self.flags[&id];
        let debit_ok = !f.debits_must_not_exceed_credits || b[0] + b[1] <= b[3];
        let credit_ok = !f.credits_must_not_exceed_debits || b[2] + b[3] <= b[1];
        debit_ok && credit_ok
    }

    fn apply(&mut self, t: &Transfer) -> Result<Outcome, ()> {
        if let Some(first) = self.transfers.get(&t.id) {
            let mut same = first.clone();
            same.timestamp_ms = t.timestamp_ms;
            return if same == *t { Ok(Outcome::Exists) } else { Err(()) };
        }
        if t.debit_account == t.credit_account || t.amount.0 <= 0 {
            return Err(());
        }
        let (Some(&d), Some(&c)) = (self.balances.get(&t.debit_account), self.balances.get(&t.credit_account)) else { return Err(()) };
        let a = t.amount.0 as i128;
        let (dp, dpo) = match t.kind {
            TransferKind::Single => (0, a),
            TransferKind::Pending { .. } => (a, 0),
            TransferKind::PostPending { pending_id, amount } => {
                let (Some(p), Some(deadline)) = (self.transfers.get(&pending_id), self.open.get(&pending_id)) else { return Err(()) };
                let post = amount.map_or(a, |f| f.0 as i128);
                if (p.debit_account, p.credit_account, p.amount) != (t.debit_account, t.credit_account, t.amount)
                    || deadline.is_some_and(|at| t.timestamp_ms >= at)
                    || post <= 0
                    || post > a
                {
                    return Err(());
                }
                (-a, post)
            }
            TransferKind::VoidPending { pending_id } => {
                let (Some(p), Some(deadline)) = (self.transfers.get(&pending_id), self.open.get(&pending_id)) else { return Err(()) };
                if (p.debit_account, p.credit_account, p.amount) != (t.debit_account, t.credit_account, t.amount)
                    || deadline.is_some_and(|at| t.timestamp_ms >= at)
                {
                    return Err(());
                }
                (-a, 0)
            }
        };
        let nd = [d[0] + dp, d[1] + dpo, d[2], d[3]];
        let nc = [c[0], c[1], c[2] + dp, c[3] + dpo];
        if !self.ok_rules(t.debit_account, nd) || !self.ok_rules(t.credit_account, nc) {
            return Err(());
        }
        self.balances.insert(t.debit_account, nd);
        self.balances.insert(t.credit_account, nc);
        match t.kind {
            TransferKind::Pending { timeout_ms } => {
                self.open.insert(t.id, timeout_ms.map(|ms| t.timestamp_ms + ms));
            }
            TransferKind::PostPending { pending_id, .. } | TransferKind::VoidPending { pending_id } => {
                self.open.remove(&pending_id);
            }
            TransferKind::Single => {}
        }
        self.transfers.insert(t.id, t.clone());
        Ok(Outcome::Created)
    }

    fn expire(&mut self, now: i64) -> Vec<TransferId> {
        let mut due: Vec<(i64, TransferId)> =
            self.open.iter().filter_map(|(id, at)| at.filter(|&at| at <= now).map(|at| (at, *id))).collect();
        due.sort();
        for (_, id) in &due {
            let p = &self.transfers[id];
            let (dr, cr, a) = (p.debit_account, p.credit_account, p.amount.0 as i128);
            self.balances.get_mut(&dr).unwrap()[0] -= a;
            self.balances.get_mut(&cr).unwrap()[2] -= a;
            self.open.remove(id);
        }
        due.into_iter().map(|(_, id)| id).collect()
    }
}

fn check(ledger: &Ledger, model: &Model) -> Result<(), TestCaseError> {
    if let Err(v) = ledger.verify() {
        return Err(TestCaseError::fail(format!("verify failed: {v:?}")));
    }
    prop_assert_eq!(ledger.accounts().count(), model.balances.len());
    for a in ledger.accounts() {
        let b = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
        prop_assert_eq!(b, model.balances[&a.id], "account {:?}", a.id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_invariants_and_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut ledger = Ledger::new();
        let mut model = Model::default();
        // A funding source so money can enter; other accounts come from the operations.
        let fund = Account::new(AccountId(1), AccountKind::ExternalFunding, Currency::CNY, AccountFlags::NONE);
        ledger.create_accounts(std::slice::from_ref(&fund));
        model.flags.insert(fund.id, fund.flags);
        model.balances.insert(fund.id, [0; 4]);
        let mut now = 1_000i64;
        let mut next_id = 1u128;
        let mut pendings: Vec<Transfer> = Vec::new();
        let mut new_id = || { next_id += 1; TransferId(next_id) };

        for op in ops {
            now += 7;
            let single_step = |ledger: &mut Ledger, model: &mut Model, t: Transfer| -> Result<(), TestCaseError> {
                let want = model.apply(&t);
                let got = ledger.apply(std::slice::from_ref(&t), false).remove(0);
                prop_assert_eq!(got.is_ok(), want.is_ok(), "{:?}: ledger {:?}", t, got);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g, w);
                }
                Ok(())
            };
            match op {
                Op::Create { account, kind } => {
                    let a = Account::cny(AccountId(account as u128), KINDS[kind]);
                    let got = ledger.create_accounts(std::slice::from_ref(&a)).remove(0);
                    match model.flags.get(&a.id) {
                        None => {
                            prop_assert_eq!(got, Ok(Outcome::Created));
                            model.flags.insert(a.id, a.flags);
                            model.balances.insert(a.id, [0; 4]);
                        }
                        Some(_) => prop_assert!(got.is_err() || got == Ok(Outcome::Exists)),
                    }
                }
                Op::Single { dr, cr, amount } => {
                    let t = Transfer::single(new_id(), AccountId(dr as u128), AccountId(cr as u128), Fen(amount), ReasonCode::Adjustment, "r", now);
                    single_step(&mut ledger, &mut model, t)?;
                }
                Op::Pending { dr, cr, amount, timeout_ms } => {
                    let t = Transfer::pending(new_id(), AccountId(dr as u128), AccountId(cr as u128), Fen(amount), ReasonCode::VoucherSpend, "job", now, timeout_ms);
                    if model.apply(&t).is_ok() {
                        pendings.push(t.clone());
                    }
                    // The model applied it already: compare the ledger's answer with its state.
                    let got = ledger.apply(std::slice::from_ref(&t), false).remove(0);
                    prop_assert_eq!(got.is_ok(), model.transfers.contains_key(&t.id), "{:?}: {:?}", t, got);
                }
                Op::Post { pick, amount } if !pendings.is_empty() => {
                    let p = &pendings[pick % pendings.len()];
                    let t = Transfer::post(new_id(), p, amount.map(Fen), now);
                    single_step(&mut ledger, &mut model, t)?;
                }
                Op::Void { pick } if !pendings.is_empty() => {
                    let p = &pendings[pick % pendings.len()];
                    let t = Transfer::void(new_id(), p, now);
                    single_step(&mut ledger, &mut model, t)?;
                }
                Op::Post { .. } | Op::Void { .. } => {}
                Op::Expire => {
                    prop_assert_eq!(ledger.expire_pending(now), model.expire(now));
                }
                Op::Linked { members, fail } => {
                    let mut batch: Vec<Transfer> = members.iter().map(|&(dr, cr, amount, pending)| {
                        let (dr, cr, id) = (AccountId(dr as u128), AccountId(cr as u128), new_id());
                        if pending {
                            Transfer::pending(id, dr, cr, Fen(amount), ReasonCode::VoucherSpend, "job", now, Some(30))
                        } else {
                            Transfer::single(id, dr, cr, Fen(amount), ReasonCode::JobCharge, "job", now)
                        }
                    }).collect();
                    if fail {
                        batch.push(Transfer::single(new_id(), AccountId(1), AccountId(2), Fen(0), ReasonCode::JobCharge, "job", now));
                    }
                    let mut trial = model.clone();
                    let all_ok = batch.iter().all(|t| trial.apply(t).is_ok());
                    let got = ledger.apply(&batch, true);
                    prop_assert_eq!(got.iter().all(Result::is_ok), all_ok, "{:?}", got);
                    if all_ok {
                        model = trial;
                        pendings.extend(batch.into_iter().filter(|t| matches!(t.kind, TransferKind::Pending { .. })));
                    } else {
                        prop_assert_eq!(got.iter().filter(|r| **r == Err(LedgerError::LinkedFailed)).count(), batch.len() - 1);
                    }
                }
                Op::Retry { pick, change } => {
                    let history = ledger.transfers().iter().filter(|t| !t.id.is_reserved()).cloned().collect::<Vec<_>>();
                    if history.is_empty() {
                        continue;
                    }
                    let mut t = history[pick % history.len()].clone();
                    t.timestamp_ms = now;
                    if change {
                        t.reference.push('x');
                    }
                    let got = ledger.apply(std::slice::from_ref(&t), false).remove(0);
                    if change {
                        prop_assert_eq!(got.map_err(|e| e.code()), Err("duplicate_transfer_differs"));
                    } else {
                        prop_assert_eq!(got, Ok(Outcome::Exists));
                    }
                }
            }
            check(&ledger, &model)?;
        }
        // Stored data loaded back verifies too.
        let stored = Ledger::from_stored(ledger.accounts().cloned().collect(), ledger.transfers().to_vec());
        prop_assert!(stored.verify().is_ok());
    }
}
