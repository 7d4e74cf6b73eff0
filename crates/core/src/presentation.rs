//! How an issuer presents figures on its returns: percentage decimals,
//! rounding, basis, and price decimals (domain.md sections 3.1 and 4).
//!
//! Percentages are computed exactly with integers and rounded once, by the
//! issuer's policy; trailing zeros are dropped ("0.2", "1.56012", "0.08").

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::rules::NddrLayout;
use crate::state::Balances;

/// How a percentage is rounded to its decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    HalfUp,
    Down,
}

/// What a percentage of "existing issued shares" is a percentage of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PercentBasis {
    /// The form's own note: FF304 note 4 (issued excluding pending
    /// cancellation, before the earliest undisclosed event); FF305 note 3
    /// (the return's opening balance excluding treasury).
    #[default]
    FormDefault,
    /// The return's opening balance of issued shares (excluding treasury).
    OpeningBalance,
    /// The opening balance less shares repurchased but not yet cancelled.
    ExcludingPending,
}

impl PercentBasis {
    /// Whether, for an NDDR of `layout`, the shares repurchased but not yet
    /// cancelled at the return's opening are left out of the basis: the
    /// form's default is FF304 note 4 (left out) and FF305 note 3 (the
    /// opening balance as it is).
    pub fn excludes_pending(self, layout: NddrLayout) -> bool {
        match (self, layout) {
            (PercentBasis::OpeningBalance, _) | (PercentBasis::FormDefault, NddrLayout::Ff305) => {
                false
            }
            (PercentBasis::ExcludingPending, _)
            | (PercentBasis::FormDefault, NddrLayout::Ff304) => true,
        }
    }

    /// The number of shares an NDDR line's "% of existing issued shares" is a
    /// percentage of, given the class's balances at the return's opening
    /// (domain.md 3.1): the issued shares excluding treasury, less those
    /// pending cancellation when [`Self::excludes_pending`].
    pub fn shares(self, layout: NddrLayout, at_opening: Balances) -> u64 {
        let issued = at_opening.issued_excluding_treasury;
        if self.excludes_pending(layout) {
            issued.saturating_sub(at_opening.pending_cancellation)
        } else {
            issued
        }
    }
}

/// The settings as an event states them: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PresentationSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_decimals: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_rounding: Option<Rounding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_basis: Option<PercentBasis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_on_carried_lines: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_decimals: Option<u32>,
}

/// Most decimals a percentage or price may be presented with.
pub const MAX_DECIMALS: u32 = 12;

/// The settings in force, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation {
    pub percent_decimals: u32,
    pub percent_rounding: Rounding,
    pub percent_basis: PercentBasis,
    pub percent_on_carried_lines: bool,
    pub price_decimals: u32,
}

impl Default for Presentation {
    fn default() -> Self {
        Presentation {
            percent_decimals: 5,
            percent_rounding: Rounding::HalfUp,
            percent_basis: PercentBasis::FormDefault,
            percent_on_carried_lines: false,
            price_decimals: 4,
        }
    }
}

impl Presentation {
    /// Apply the fields a settings event states; the others stay.
    pub fn merge(&mut self, s: &PresentationSettings) {
        if let Some(d) = s.percent_decimals {
            self.percent_decimals = d;
        }
        if let Some(r) = s.percent_rounding {
            self.percent_rounding = r;
        }
        if let Some(b) = s.percent_basis {
            self.percent_basis = b;
        }
        if let Some(c) = s.percent_on_carried_lines {
            self.percent_on_carried_lines = c;
        }
        if let Some(d) = s.price_decimals {
            self.price_decimals = d;
        }
    }

    /// `part` as a percentage of `whole`, presented by this policy.
    /// `None` when `whole` is zero (the form's cell is then left empty).
    pub fn percent(&self, part: u64, whole: u64) -> Option<String> {
        percent(part, whole, self.percent_decimals, self.percent_rounding)
    }

    /// The change of `value` against `base` in percent (a discount is
    /// negative), rounded once by this policy; `None` when `base` is zero or
    /// the figures are beyond exact arithmetic.
    pub fn percent_change(&self, value: Decimal, base: Decimal) -> Option<String> {
        if base.is_zero() {
            return None;
        }
        let diff = value.checked_sub(base)?;
        let strategy = match self.percent_rounding {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
        };
        let pct = diff
            .abs()
            .checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(base)?
            .round_dp_with_strategy(self.percent_decimals.min(MAX_DECIMALS), strategy)
            .normalize();
        let text = pct.to_string();
        Some(if diff.is_sign_negative() && !pct.is_zero() {
            format!("-{text}")
        } else {
            text
        })
    }

    /// A volume-weighted average price: `total / shares`, to `price_decimals`
    /// places, half-up, trailing zeros dropped.
    pub fn average_price(&self, total: Decimal, shares: u64) -> Option<Decimal> {
        if shares == 0 {
            return None;
        }
        let avg = total / Decimal::from(shares);
        Some(
            avg.round_dp_with_strategy(self.price_decimals, RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
        )
    }
}

/// `part × 100 / whole`, exactly, rounded once to `decimals` places.
pub fn percent(part: u64, whole: u64, decimals: u32, rounding: Rounding) -> Option<String> {
    if whole == 0 {
        return None;
    }
    let decimals = decimals.min(MAX_DECIMALS);
    let scale = 10u128.pow(decimals);
    let numerator = part as u128 * 100 * scale;
    let whole = whole as u128;
    let mut q = numerator / whole;
    let r = numerator % whole;
    if rounding == Rounding::HalfUp && 2 * r >= whole {
        q += 1;
    }
    let int = q / scale;
    let frac = q % scale;
    if decimals == 0 || frac == 0 {
        return Some(int.to_string());
    }
    let frac = format!("{frac:0width$}", width = decimals as usize);
    Some(format!("{int}.{}", frac.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filed_percentages() {
        // Tencent 13 June 2025 (FF305 note 3): 979,000 / 9,190,417,249.
        assert_eq!(
            percent(979_000, 9_190_417_249, 5, Rounding::HalfUp).unwrap(),
            "0.01065"
        );
        // Tencent 18 January 2024 (FF304 note 4): excluding 16,970,000 pending.
        assert_eq!(
            percent(3_640_000, 9_452_393_365 - 16_970_000, 5, Rounding::HalfUp).unwrap(),
            "0.03858"
        );
        // Baozun: 2 places rounded down.
        assert_eq!(
            percent(150_000, 168_313_204, 2, Rounding::Down).unwrap(),
            "0.08"
        );
        // The seed's mandate usage.
        assert_eq!(
            percent(8_725_800, 559_304_838, 2, Rounding::HalfUp).unwrap(),
            "1.56"
        );
        // Tencent's mandate: exactly 10%.
        assert_eq!(
            percent(918_901_866, 9_189_018_660, 5, Rounding::HalfUp).unwrap(),
            "10"
        );
    }

    #[test]
    fn rounding_modes_and_edges() {
        assert_eq!(percent(1, 8, 1, Rounding::HalfUp).unwrap(), "12.5");
        assert_eq!(percent(1, 16, 1, Rounding::HalfUp).unwrap(), "6.3"); // 6.25 → 6.3
        assert_eq!(percent(1, 16, 1, Rounding::Down).unwrap(), "6.2");
        assert_eq!(percent(0, 16, 5, Rounding::HalfUp).unwrap(), "0");
        assert_eq!(percent(1, 0, 5, Rounding::HalfUp), None);
        assert_eq!(
            percent(u64::MAX, 1, 12, Rounding::HalfUp).unwrap(),
            format!("{}00", u64::MAX)
        );
    }

    #[test]
    fn percent_change_is_signed_and_rounded_by_policy() {
        let p = Presentation::default();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(p.percent_change(d("9"), d("10")).unwrap(), "-10");
        assert_eq!(p.percent_change(d("10.5"), d("10")).unwrap(), "5");
        assert_eq!(p.percent_change(d("2"), d("3")).unwrap(), "-33.33333");
        let down = Presentation {
            percent_decimals: 2,
            percent_rounding: Rounding::Down,
            ..p
        };
        assert_eq!(down.percent_change(d("2"), d("3")).unwrap(), "-33.33");
        assert_eq!(p.percent_change(d("10"), d("10")).unwrap(), "0");
        assert_eq!(p.percent_change(d("1"), d("0")), None);
        assert_eq!(p.percent_change(Decimal::MAX, d("1")), None);
    }

    #[test]
    fn percent_basis_per_policy_and_layout() {
        let b = Balances {
            issued_excluding_treasury: 9_452_393_365,
            treasury: 5,
            pending_cancellation: 16_970_000,
        };
        let (ff304, ff305) = (NddrLayout::Ff304, NddrLayout::Ff305);
        // Tencent, 18 January 2024 (FF304 note 4): pending left out.
        assert_eq!(PercentBasis::FormDefault.shares(ff304, b), 9_435_423_365);
        // FF305 note 3: the opening balance as it is.
        assert_eq!(PercentBasis::FormDefault.shares(ff305, b), 9_452_393_365);
        for layout in [ff304, ff305] {
            assert_eq!(
                PercentBasis::OpeningBalance.shares(layout, b),
                9_452_393_365
            );
            assert_eq!(
                PercentBasis::ExcludingPending.shares(layout, b),
                9_435_423_365
            );
        }
    }

    #[test]
    fn average_price_is_exact_then_rounded() {
        let p = Presentation::default();
        assert_eq!(
            p.average_price(Decimal::new(92569, 0), 4300)
                .unwrap()
                .to_string(),
            "21.5277"
        );
        assert_eq!(
            p.average_price(Decimal::new(215, 1), 1)
                .unwrap()
                .to_string(),
            "21.5"
        );
        assert_eq!(p.average_price(Decimal::ONE, 0), None);
    }
}
