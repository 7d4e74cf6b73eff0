//! Exact money: [`Amount`] (a non-negative decimal read exactly from its text),
//! [`Currency`] (a three-letter code as the forms print it) and [`Money`].
//!
//! A float never touches an amount. JSON may give an amount as a string
//! (`"21.55"`, the canonical form) or as a number (`21.55`); a number is read
//! from its literal text (serde_json's `arbitrary_precision`), never through
//! `f64`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative exact decimal amount (a price, a total paid, a par value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub Decimal);

impl Amount {
    pub fn zero() -> Self {
        Amount(Decimal::ZERO)
    }
    pub fn value(self) -> Decimal {
        self.0
    }
}

/// The largest amount the ledger accepts (a price, a total, a par value):
/// 10^18. Far above any real figure, and low enough that sums of any
/// realistic number of amounts stay within `Decimal` (about 7.9 × 10^28).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA764_0000, 0x0DE0_B6B3, 0, false, 0);

/// The most decimal places an amount may have.
pub const MAX_AMOUNT_DECIMALS: u32 = 10;

/// The largest amount *per share* the ledger accepts (a price, a par
/// value): 10^13, so that a per-share amount times any number of shares
/// the ledger accepts (at most 10^15) stays below 10^28, which `Decimal`
/// holds.
pub const MAX_PER_SHARE: Decimal = Decimal::from_parts(0x4E72_A000, 0x0000_0918, 0, false, 0);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not a decimal amount: write plain digits with at most one decimal point, like \"21.55\" (no exponent, sign, spaces, underscores or commas)")]
    NotDecimal(String),
    #[error("`{0}` is negative: amounts (prices, totals, par values) are never negative")]
    Negative(String),
    #[error("`{0}` has more than {MAX_AMOUNT_DECIMALS} decimal places: the ledger keeps amounts to at most {MAX_AMOUNT_DECIMALS} decimal places; round it as the document you copy it from does")]
    TooManyDecimals(String),
    #[error("`{0}` is above the largest amount the ledger accepts, {MAX_AMOUNT} (10^18): check the figure")]
    TooLarge(String),
}

/// Whether `t` is a plain decimal: ASCII digits, optionally one `.` followed
/// by digits. No sign, exponent, space, underscore or comma.
fn is_plain_decimal(t: &str) -> bool {
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

impl FromStr for Amount {
    type Err = AmountError;
    /// The form is checked here, for every amount read (input and stored
    /// payloads alike): plain decimal digits, never negative, exactly
    /// representable. The bounds (at most 10^18, at most 10 decimals:
    /// [`within_bounds`]) are checked where input comes in
    /// (`event::check_bounds`), so that a ledger written before them still
    /// reads.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with('-') && is_plain_decimal(&text[1..]) {
            return Err(AmountError::Negative(text.to_string()));
        }
        if !is_plain_decimal(text) {
            return Err(AmountError::NotDecimal(text.to_string()));
        }
        let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
        Decimal::from_str_exact(text).map(Amount).map_err(|_| {
            if decimals > 28 {
                AmountError::TooManyDecimals(text.to_string())
            } else {
                AmountError::TooLarge(text.to_string())
            }
        })
    }
}

/// Whether `d` is within the bounds of an amount the ledger accepts: at
/// most [`MAX_AMOUNT`] (10^18), at most [`MAX_AMOUNT_DECIMALS`] decimal
/// places, not negative.
pub fn within_bounds(d: Decimal) -> Result<(), AmountError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(AmountError::Negative(d.to_string()));
    }
    if d > MAX_AMOUNT {
        return Err(AmountError::TooLarge(d.to_string()));
    }
    if d.scale() > MAX_AMOUNT_DECIMALS {
        return Err(AmountError::TooManyDecimals(d.to_string()));
    }
    Ok(())
}

/// `a × b` exactly, or `None` when the exact product does not fit a
/// `Decimal` (rust_decimal would otherwise round away decimal places).
pub fn exact_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let p = a.checked_mul(b)?;
    (p.is_zero() || p.scale() == a.scale() + b.scale()).then_some(p)
}

/// A number as a person writes it on the command line or in a broker's
/// file: plain digits (`1234567`, `21.55`) or digits grouped in thousands
/// with commas (`1,234,567`, `92,569.50`), nothing else. The digits without
/// their commas; `None` for anything else (`4,30`, `,,5`, `1,5`, `1_000`).
pub fn ungroup_thousands(text: &str) -> Option<String> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let groups: Vec<&str> = int.split(',').collect();
    let well_formed = !groups[0].is_empty()
        && groups[0].bytes().all(|b| b.is_ascii_digit())
        && (groups.len() == 1
            || (groups[0].len() <= 3
                && groups[1..]
                    .iter()
                    .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))));
    well_formed.then(|| match frac {
        Some(f) => format!("{}.{f}", groups.concat()),
        None => groups.concat(),
    })
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // Going through `Value` keeps a JSON number's literal text exactly
        // (arbitrary_precision), so no float is ever involved.
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(D::Error::custom(format!(
                    "expected a decimal amount as a string like \"21.55\", found {other}"
                )))
            }
        };
        text.parse().map_err(D::Error::custom)
    }
}

/// A currency code as the forms print it: three upper-case letters (`HKD`, `RMB`, `USD`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(String);

impl Currency {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a currency code: use three upper-case letters as the forms print them, like \"HKD\", \"RMB\" or \"USD\""
            ))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact amount with its currency: `{"currency": "HKD", "amount": "21.55"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub currency: Currency,
    pub amount: Amount,
}

impl Money {
    pub fn new(currency: Currency, amount: Decimal) -> Self {
        debug_assert!(!amount.is_sign_negative() || amount.is_zero());
        Money {
            currency,
            amount: Amount(amount),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_from_strings_and_numbers() {
        let a: Amount = serde_json::from_str("\"21.55\"").unwrap();
        assert_eq!(a.0, Decimal::new(2155, 2));
        let b: Amount = serde_json::from_str("21.55").unwrap();
        assert_eq!(b.0, Decimal::new(2155, 2));
        // A number no f64 can hold exactly survives untouched.
        let c: Amount = serde_json::from_str("0.100000000000000005551115123").unwrap();
        assert_eq!(c.to_string(), "0.100000000000000005551115123");
        // More digits than an exact decimal holds: refused, never rounded.
        assert!(matches!(
            "0.10000000000000000555111512312578".parse::<Amount>(),
            Err(AmountError::TooManyDecimals(_))
        ));
        assert!(matches!(
            "79228162514264337593543950336".parse::<Amount>(),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn the_bounds_are_what_they_say() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_000_000u64));
        assert_eq!(MAX_PER_SHARE, Decimal::from(10_000_000_000_000u64));
        let bounded = |s: &str| within_bounds(s.parse::<Amount>().unwrap().0);
        assert_eq!(bounded("1000000000000000000"), Ok(()));
        assert_eq!(bounded("0.1234567890"), Ok(()));
        assert_eq!(bounded("000000000000000000000001"), Ok(()));
        assert!(matches!(
            bounded("1000000000000000000.0000000001"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            bounded("79228162514264337593543950335"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            bounded("0.12345678901"),
            Err(AmountError::TooManyDecimals(_))
        ));
    }

    #[test]
    fn only_plain_decimals_are_amounts() {
        for bad in [
            "1_000", "1e3", "1E3", " 1.0 ", "+1.0", "1,000", "1.", ".5", "", "0x10", "1.0.0",
            "NaN", "١٢", "1 000",
        ] {
            assert!(
                matches!(bad.parse::<Amount>(), Err(AmountError::NotDecimal(_))),
                "{bad:?} was accepted"
            );
        }
        // As JSON numbers too: the literal text is judged.
        assert!(serde_json::from_str::<Amount>("1e3").is_err());
        assert!(serde_json::from_str::<Amount>("-0").is_err());
        assert!(matches!(
            "-1.5".parse::<Amount>(),
            Err(AmountError::Negative(_))
        ));
    }

    #[test]
    fn exact_products_or_none() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(exact_mul(d("1.5"), d("3")), Some(d("4.5")));
        assert_eq!(
            exact_mul(MAX_PER_SHARE, d("1000000000000000")),
            Some(d("1e28").normalize())
        );
        // Rounding would be needed: refused.
        assert_eq!(
            exact_mul(d("9999999999999.9999999999"), d("1000000000000000")),
            None
        );
        assert_eq!(exact_mul(d("100000000000000"), d("1000000000000000")), None);
    }

    #[test]
    fn thousands_groups_are_read_only_when_well_formed() {
        assert_eq!(ungroup_thousands("4300").as_deref(), Some("4300"));
        assert_eq!(ungroup_thousands("1,000").as_deref(), Some("1000"));
        assert_eq!(ungroup_thousands("1,234,567").as_deref(), Some("1234567"));
        assert_eq!(ungroup_thousands("92,569.50").as_deref(), Some("92569.50"));
        assert_eq!(ungroup_thousands("21.55").as_deref(), Some("21.55"));
        for bad in [
            "4,30",
            ",,5",
            "1,5",
            ",100",
            "1,000,",
            "1000,000",
            "1,0000",
            "1_000",
            "",
            "1.",
            "1,000.5,0",
            " 1",
        ] {
            assert_eq!(ungroup_thousands(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_amounts_are_refused() {
        assert!(serde_json::from_str::<Amount>("\"-1\"").is_err());
        assert!(serde_json::from_str::<Amount>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
        assert!(serde_json::from_str::<Amount>("\"\"").is_err());
        assert!(serde_json::from_str::<Amount>("\"-0\"").is_err());
    }

    #[test]
    fn currencies_are_three_capitals() {
        assert!("HKD".parse::<Currency>().is_ok());
        assert!("hkd".parse::<Currency>().is_err());
        assert!("HK$".parse::<Currency>().is_err());
        assert!("HKDX".parse::<Currency>().is_err());
    }
}
