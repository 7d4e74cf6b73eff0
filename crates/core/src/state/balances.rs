//! Balances, the net movement of a day, and the effect table.

use crate::event::*;

use super::MAX_SHARES;

/// The balances of one class at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Balances {
    pub issued_excluding_treasury: u64,
    pub treasury: u64,
    /// Repurchased (or redeemed) for cancellation but not yet cancelled;
    /// these are inside `issued_excluding_treasury`.
    pub pending_cancellation: u64,
}

impl Balances {
    pub fn total(&self) -> u64 {
        self.issued_excluding_treasury + self.treasury
    }
}

/// The net movement of one effective date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Delta {
    pub issued: i128,
    pub treasury: i128,
    /// Shares pending cancellation (inside `issued`).
    pub pending: i128,
}

impl Delta {
    pub(super) fn of(e: Effect) -> Delta {
        Delta {
            issued: e.issued,
            treasury: e.treasury,
            pending: e.pending,
        }
    }
    pub(super) fn plus(self, o: Delta) -> Delta {
        Delta {
            issued: self.issued + o.issued,
            treasury: self.treasury + o.treasury,
            pending: self.pending + o.pending,
        }
    }
    pub(super) fn minus(self, o: Delta) -> Delta {
        Delta {
            issued: self.issued - o.issued,
            treasury: self.treasury - o.treasury,
            pending: self.pending - o.pending,
        }
    }
}

/// What the ledger learned to move shares, in one place: how each event
/// changes issued shares (excluding treasury), treasury shares and the shares
/// pending cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effect {
    pub issued: i128,
    pub treasury: i128,
    pub pending: i128,
}

/// The effect of an event on its class's balances (zero for events that move
/// nothing). This is the one table of domain.md section 2.
pub fn effect(event: &Event) -> Effect {
    let n = |s: u64| s as i128;
    match event {
        Event::SharesRepurchased(e) => match e.purpose_or_default() {
            Purpose::Cancellation => Effect {
                pending: n(e.shares),
                ..Effect::default()
            },
            Purpose::Treasury => Effect {
                issued: -n(e.shares),
                treasury: n(e.shares),
                pending: 0,
            },
        },
        Event::RepurchasedSharesCancelled(e) => Effect {
            issued: -n(e.shares),
            treasury: 0,
            pending: -n(e.shares),
        },
        Event::SharesIssued(e) => Effect {
            issued: n(e.shares),
            ..Effect::default()
        },
        Event::SharesRedeemed(e) => {
            if e.cancelled_or_default() {
                Effect {
                    issued: -n(e.shares),
                    ..Effect::default()
                }
            } else {
                Effect {
                    pending: n(e.shares),
                    ..Effect::default()
                }
            }
        }
        Event::TreasurySharesSold(e) => Effect {
            issued: n(e.shares),
            treasury: -n(e.shares),
            pending: 0,
        },
        Event::TreasurySharesTransferred(e) => Effect {
            issued: n(e.shares),
            treasury: -n(e.shares),
            pending: 0,
        },
        Event::TreasurySharesCancelled(e) => Effect {
            treasury: -n(e.shares),
            ..Effect::default()
        },
        _ => Effect::default(),
    }
}

/// The effect of an event on the balances of `class`: [`effect`] for an
/// event of one class; for a reclassification, −N issued in the class it
/// leaves and +N in the class it joins (domain.md section 2).
pub fn effect_on(event: &Event, class: &str) -> Effect {
    match event {
        Event::SharesReclassified(e) => {
            let n = e.shares as i128;
            let issued = if class == e.from_class {
                -n
            } else if class == e.to_class {
                n
            } else {
                0
            };
            Effect {
                issued,
                ..Effect::default()
            }
        }
        other if other.class() == Some(class) => effect(other),
        _ => Effect::default(),
    }
}

pub(super) fn to_count(n: i128) -> u64 {
    debug_assert!(
        (0..=MAX_SHARES as i128).contains(&n),
        "balance out of range: {n}"
    );
    n.clamp(0, MAX_SHARES as i128) as u64
}
