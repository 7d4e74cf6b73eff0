//! How an accepted event changes an issuer. Never fails: it asserts what
//! `decide` guaranteed.

use crate::amount::Money;
use crate::event::*;

use super::balances::{effect, effect_on, Delta};
use super::check::{exercised_instrument, reorganisation_effect};
use super::class::{PendingLine, PendingOrigin};
use super::{ClassState, InstrumentState, IssuerState, SchemeState};

pub(super) fn apply_issuer_event(issuer: &mut IssuerState, r: &Recorded) {
    let eff = effect(&r.event);
    match &r.event {
        Event::IssuerRegistered(_) | Event::MarketClosed(_) | Event::EventVoided(_) => {
            unreachable!("handled by the register")
        }
        Event::IssuerSettingsChanged(e) => {
            if let Some(n) = &e.name {
                issuer.name = n.clone();
            }
            if let Some(d) = &e.description {
                issuer.description = Some(d.clone());
            }
            if let Some(p) = e.primary_listing {
                issuer.primary_listing = p;
            }
            if let Some(s) = &e.signatory {
                issuer.signatory = Some(s.clone());
            }
            if let Some(p) = &e.presentation {
                issuer.presentation.merge(p);
            }
        }
        Event::ShareClassDefined(e) => {
            issuer
                .classes
                .insert(e.class.clone(), Box::new(ClassState::new(e.clone())));
        }
        Event::OpeningBalance(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            debug_assert!(class.opening.is_none() && !class.has_movements);
            class.opening = Some(e.clone());
        }
        Event::RepurchaseMandateGranted(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let at = class
                .mandates
                .partition_point(|m| m.resolution_date <= e.resolution_date);
            class.mandates.insert(at, e.clone());
        }
        Event::SharesRepurchased(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.trade_date, Delta::of(eff));
            if eff.pending > 0 {
                class
                    .pending
                    .entry(e.trade_date)
                    .or_insert_with(|| PendingLine {
                        trade_date: e.trade_date,
                        repurchased: 0,
                        origin: PendingOrigin::Repurchase,
                        cancellations: Vec::new(),
                        reorganised: Vec::new(),
                    })
                    .repurchased += e.shares;
                class.open_pending.insert(e.trade_date);
            }
            let day = class.repurchased.entry(e.trade_date).or_default();
            if e.method_or_default() == Method::OnExchange {
                day.0 += e.shares;
                let prices = e.prices();
                class
                    .on_exchange
                    .entry(e.trade_date)
                    .or_default()
                    .count(prices.as_ref().map(|p| &p.currency));
            }
            day.1 += e.shares;
            day.2 += 1;
        }
        Event::RepurchasedSharesCancelled(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let allocation = class
                .allocate_cancellation(e.date, e.shares, e.trade_dates.as_deref())
                .expect("decide checked the allocation");
            for (trade_date, n) in allocation {
                let line = class
                    .line_mut(trade_date)
                    .expect("allocated from existing lines");
                line.cancellations.push((e.date, n));
                debug_assert!(
                    line.cancelled() as i128
                        <= line.repurchased as i128
                            + line.reorganised.iter().map(|a| a.1).sum::<i128>()
                );
                if line.remaining() == 0 {
                    class.open_pending.remove(&trade_date);
                }
            }
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
        }
        Event::SharesIssued(e) => {
            if let Some(name) = exercised_instrument(issuer, e).map(|i| i.issued.instrument.clone())
            {
                let inst = issuer.instruments.get_mut(&name).expect("found");
                inst.take(e.shares, e.amount);
            }
            if e.kind == IssueKind::ShareOptionExercise {
                let s = issuer
                    .schemes
                    .get_mut(e.scheme.as_deref().unwrap_or_default())
                    .expect("checked");
                s.outstanding -= e.shares;
            }
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
        }
        Event::SharesRedeemed(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
            if eff.pending > 0 {
                class
                    .pending
                    .entry(e.date)
                    .or_insert_with(|| PendingLine {
                        trade_date: e.date,
                        repurchased: 0,
                        origin: PendingOrigin::Redemption,
                        cancellations: Vec::new(),
                        reorganised: Vec::new(),
                    })
                    .repurchased += e.shares;
                class.open_pending.insert(e.date);
            }
        }
        Event::TreasurySharesSold(TreasurySharesSold {
            class,
            trade_date: date,
            ..
        })
        | Event::TreasurySharesTransferred(TreasurySharesTransferred { class, date, .. })
        | Event::TreasurySharesCancelled(TreasurySharesCancelled { class, date, .. }) => {
            let class = issuer.classes.get_mut(class).expect("checked");
            class.has_movements = true;
            class.add_delta(*date, Delta::of(eff));
        }
        Event::AuthorisedSharesChanged(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.authorised_changes.insert(e.date, e.authorised_shares);
        }
        Event::ShareOptionSchemeAdopted(e) => {
            issuer.schemes.insert(
                e.scheme.clone(),
                SchemeState {
                    adoption: e.clone(),
                    outstanding: e.outstanding_options.unwrap_or(0),
                },
            );
        }
        Event::ShareOptionsGranted(e) => {
            issuer
                .schemes
                .get_mut(&e.scheme)
                .expect("checked")
                .outstanding += e.options;
        }
        Event::ShareOptionsLapsed(e) | Event::ShareOptionsCancelled(e) => {
            issuer
                .schemes
                .get_mut(&e.scheme)
                .expect("checked")
                .outstanding -= e.options;
        }
        Event::ResultsAnnouncementScheduled(e) => issuer.results.push(e.clone()),
        Event::ReturnFiled(e) => issuer.filings.push((r.id, e.clone())),
        Event::ExchangeApprovalRecorded(e) => issuer.approvals.push((r.id, e.clone())),
        Event::CapitalReorganised(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let (delta, lines) = reorganisation_effect(class, e);
            for (trade_date, adjustment) in lines {
                let line = class.line_mut(trade_date).expect("a pending line");
                line.reorganised.push((e.date, adjustment));
                if line.remaining() == 0 {
                    class.open_pending.remove(&trade_date);
                }
            }
            let authorised = e
                .authorised_shares_after
                .or_else(|| class.authorised_as_of(e.date).map(|a| e.scale(a)));
            if let Some(a) = authorised {
                class.authorised_changes.insert(e.date, a);
            }
            class.has_movements = true;
            class.add_delta(e.date, delta);
            class.reorganisations.push((e.clone(), delta));
        }
        Event::InstrumentIssued(e) => {
            issuer
                .instruments
                .insert(e.instrument.clone(), InstrumentState::new(e));
        }
        Event::InstrumentCancelled(e) => {
            issuer
                .instruments
                .get_mut(&e.instrument)
                .expect("checked")
                .take(e.shares_issuable, e.amount);
        }
        Event::SharesReclassified(e) => {
            for id in [&e.from_class, &e.to_class] {
                let class = issuer.classes.get_mut(id).expect("checked");
                class.has_movements = true;
                class.add_delta(e.date, Delta::of(effect_on(&r.event, id)));
            }
        }
        Event::ClosingPrice(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.closing_prices.insert(
                e.date,
                Money {
                    currency: e.currency.clone(),
                    amount: e.price,
                },
            );
        }
    }
}
