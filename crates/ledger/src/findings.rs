//! What an append hands back of the findings it introduces, in memory
//! bounded whatever the input's size: a [`FindingsDigest`] (the first few
//! findings of each issuer and rule, how many there were, and one line per
//! issuer of the returns overdue), or any [`FindingSink`] the caller
//! passes ([`crate::append::append_into`]).
//!
//! A registrar's file whose returns were never filed introduces about one
//! finding per event; the front ends show a few of each rule and a count of
//! the rest (`record`, `import`), so keeping every one (each with its
//! strings) would make the append's memory grow with the file for nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use shareledger_returns::checks::{Finding, Severity};

/// Where the findings an append introduces go, as they are judged: issuer
/// by issuer in the order of the issuers' ids, each issuer's in the order
/// of the rule checks (`checks::run`).
pub trait FindingSink: Send {
    /// One more finding.
    fn finding(&mut self, finding: Finding);
}

/// Every finding, kept (memory grows with them: for tests and small
/// inputs).
impl FindingSink for Vec<Finding> {
    fn finding(&mut self, finding: Finding) {
        self.push(finding);
    }
}

impl FindingSink for FindingsDigest {
    fn finding(&mut self, finding: Finding) {
        self.add(finding);
    }
}

/// The filing deadlines (13.25A, 13.25B): what is owed rather than what an
/// event did wrong, so an issuer's several overdue returns are summed up in
/// one [`Overdue`].
pub fn is_deadline_rule(rule: &str) -> bool {
    rule == "13.25A" || rule == "13.25B"
}

/// An issuer's overdue returns (findings of the deadline rules), summed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    /// How many.
    pub count: u64,
    /// The earliest date among them.
    pub first: Option<NaiveDate>,
    /// The latest date among them.
    pub last: Option<NaiveDate>,
    /// `Error` if any of them is one.
    pub worst: Severity,
}

/// The findings an append introduced, bounded: the first
/// [`FindingsDigest::PER_RULE`] findings of each (issuer, rule) in the order
/// found, how many each (issuer, rule) had, and per issuer its overdue
/// returns summed up ([`Overdue`]); an issuer with one overdue return keeps
/// that finding as it is. Memory grows with the issuers and rules, never
/// with the findings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindingsDigest {
    total: u64,
    /// Kept findings in the order found; `None` where an issuer's first
    /// overdue return stood until a second one came (then both are summed
    /// up instead).
    kept: Vec<Option<Finding>>,
    /// Findings of each (issuer, rule), the deadline rules left out.
    counts: BTreeMap<(String, String), u64>,
    overdue: BTreeMap<String, Overdue>,
    /// Where in `kept` an issuer's one overdue return is.
    lone: HashMap<String, usize>,
}

impl FindingsDigest {
    /// How many findings of one (issuer, rule) are kept.
    pub const PER_RULE: u64 = 5;

    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one more finding into account.
    pub fn add(&mut self, f: Finding) {
        self.total += 1;
        if is_deadline_rule(&f.rule) {
            match self.overdue.get_mut(&f.issuer) {
                Some(o) => {
                    o.count += 1;
                    o.first = o.first.into_iter().chain(f.date).min();
                    o.last = o.last.into_iter().chain(f.date).max();
                    if f.severity == Severity::Error {
                        o.worst = Severity::Error;
                    }
                    if let Some(i) = self.lone.remove(&f.issuer) {
                        self.kept[i] = None;
                    }
                }
                None => {
                    self.overdue.insert(
                        f.issuer.clone(),
                        Overdue {
                            count: 1,
                            first: f.date,
                            last: f.date,
                            worst: f.severity,
                        },
                    );
                    self.lone.insert(f.issuer.clone(), self.kept.len());
                    self.kept.push(Some(f));
                }
            }
            return;
        }
        let n = self
            .counts
            .entry((f.issuer.clone(), f.rule.clone()))
            .or_default();
        *n += 1;
        if *n <= Self::PER_RULE {
            self.kept.push(Some(f));
        }
    }

    /// How many findings there were in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// No finding at all.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The findings kept, in the order found: the first
    /// [`Self::PER_RULE`] of each (issuer, rule), and an issuer's overdue
    /// return when it is its only one.
    pub fn kept(&self) -> impl Iterator<Item = &Finding> {
        self.kept.iter().flatten()
    }

    /// (issuer, rule, how many more than were kept) for each (issuer,
    /// rule) with more than [`Self::PER_RULE`] findings, by issuer and rule.
    pub fn more(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.counts
            .iter()
            .filter(|(_, n)| **n > Self::PER_RULE)
            .map(|((issuer, rule), n)| (issuer.as_str(), rule.as_str(), n - Self::PER_RULE))
    }

    /// Each issuer with more than one overdue return, by issuer, with them
    /// summed up.
    pub fn overdue(&self) -> impl Iterator<Item = (&str, &Overdue)> {
        self.overdue
            .iter()
            .filter(|(_, o)| o.count > 1)
            .map(|(i, o)| (i.as_str(), o))
    }
}

impl<'a> FromIterator<&'a Finding> for FindingsDigest {
    fn from_iter<I: IntoIterator<Item = &'a Finding>>(iter: I) -> Self {
        let mut d = FindingsDigest::new();
        for f in iter {
            d.add(f.clone());
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(issuer: &str, rule: &str, day: u32, severity: Severity) -> Finding {
        Finding {
            severity,
            rule: rule.into(),
            issuer: issuer.into(),
            date: NaiveDate::from_ymd_opt(2024, 1, day),
            message: format!("{issuer} {rule} {day}"),
            event: None,
        }
    }

    #[test]
    fn keeps_the_first_of_each_rule_and_counts_the_rest() {
        let mut all = Vec::new();
        for day in 1..=8 {
            all.push(f("00001", "10.06(1)", day, Severity::Error));
            all.push(f("00002", "10.06(3)", day, Severity::Warning));
        }
        all.push(f("00002", "10.06(1)", 9, Severity::Error));
        let d: FindingsDigest = all.iter().collect();
        assert_eq!(d.total(), 17);
        let kept: Vec<_> = d.kept().map(|f| f.message.as_str()).collect();
        assert_eq!(kept.len(), 11);
        assert_eq!(kept[0], "00001 10.06(1) 1");
        assert_eq!(kept[1], "00002 10.06(3) 1");
        assert_eq!(kept[10], "00002 10.06(1) 9");
        assert_eq!(
            d.more().collect::<Vec<_>>(),
            vec![("00001", "10.06(1)", 3), ("00002", "10.06(3)", 3)]
        );
        assert_eq!(d.overdue().count(), 0);
    }

    #[test]
    fn overdue_returns_are_summed_up_per_issuer_unless_one() {
        let all = [
            f("00001", "13.25B", 5, Severity::Warning),
            f("00002", "13.25A", 7, Severity::Warning),
            f("00001", "10.06(1)", 2, Severity::Error),
            f("00001", "13.25A", 3, Severity::Error),
            f("00001", "13.25B", 9, Severity::Warning),
        ];
        let d: FindingsDigest = all.iter().collect();
        let kept: Vec<_> = d.kept().map(|f| f.message.as_str()).collect();
        assert_eq!(kept, ["00002 13.25A 7", "00001 10.06(1) 2"]);
        let overdue: Vec<_> = d.overdue().collect();
        assert_eq!(
            overdue,
            vec![(
                "00001",
                &Overdue {
                    count: 3,
                    first: NaiveDate::from_ymd_opt(2024, 1, 3),
                    last: NaiveDate::from_ymd_opt(2024, 1, 9),
                    worst: Severity::Error,
                }
            )]
        );
        assert_eq!(d.more().count(), 0);
        assert_eq!(d.total(), 5);
    }
}
