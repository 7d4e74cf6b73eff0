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

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not a decimal amount: write it like \"21.55\"")]
    NotDecimal(String),
    #[error("`{0}` is negative: amounts (prices, totals, par values) are never negative")]
    Negative(String),
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        let parsed = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Decimal::from_str_exact(t)
        };
        let d = parsed.map_err(|_| AmountError::NotDecimal(text.to_string()))?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(AmountError::Negative(text.to_string()));
        }
        Ok(Amount(d))
    }
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
        assert!(serde_json::from_str::<Amount>("0.10000000000000000555111512312578").is_err());
        let e: Amount = serde_json::from_str("1e3").unwrap();
        assert_eq!(e.0, Decimal::new(1000, 0));
    }

    #[test]
    fn bad_amounts_are_refused() {
        assert!(serde_json::from_str::<Amount>("\"-1\"").is_err());
        assert!(serde_json::from_str::<Amount>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
        assert!(serde_json::from_str::<Amount>("\"\"").is_err());
    }

    #[test]
    fn currencies_are_three_capitals() {
        assert!("HKD".parse::<Currency>().is_ok());
        assert!("hkd".parse::<Currency>().is_err());
        assert!("HK$".parse::<Currency>().is_err());
        assert!("HKDX".parse::<Currency>().is_err());
    }
}
