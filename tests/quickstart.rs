//! The README's quickstart, run as written: every command of the ```sh
//! blocks between `<!-- quickstart:begin -->` and `<!-- quickstart:end -->`
//! is run in order by `sh -c`, with the `shareledger` under test first on the
//! PATH, a fresh ledger in `SHARELEDGER_DB`, and a scratch working directory
//! holding a copy of `examples/`. A command that fails fails the test, so the
//! README cannot drift from the program.

use std::path::Path;
use std::process::Command;

const BEGIN: &str = "<!-- quickstart:begin -->";
const END: &str = "<!-- quickstart:end -->";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md exists")
}

/// The `## Quickstart` section: from its heading to the next `## `.
fn section(readme: &str) -> &str {
    let start = readme
        .find("\n## Quickstart")
        .expect("README.md has a `## Quickstart` section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    &rest[..end]
}

/// The ```sh blocks of `text`.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().expect("open")),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "a ```sh block is not closed");
    blocks
}

/// The commands of a block: comments and blank lines dropped, lines ending
/// in `\` joined with the next.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let t = line.trim();
        if pending.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(t);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    assert!(
        pending.is_empty(),
        "a command ends with a line continuation"
    );
    out
}

fn quickstart_commands() -> Vec<String> {
    let readme = readme();
    let section = section(&readme);
    let begin = section
        .find(BEGIN)
        .expect("the quickstart has its begin marker");
    let end = section
        .find(END)
        .expect("the quickstart has its end marker");
    assert!(begin < end);
    // Every ```sh block of the section is between the markers: all are run.
    let inside = sh_blocks(&section[begin..end]);
    assert_eq!(
        inside.len(),
        sh_blocks(section).len(),
        "every ```sh block of the Quickstart is between the markers"
    );
    inside.iter().flat_map(|b| commands(b)).collect()
}

#[test]
fn the_readme_quickstart_runs_as_written() {
    let commands = quickstart_commands();
    assert!(commands.len() >= 12, "{commands:#?}");
    for c in &commands {
        assert!(
            c.starts_with("shareledger "),
            "not a shareledger command: {c}"
        );
    }
    // The walk through the day covers what the issue asks for.
    let all = commands.join("\n");
    for needle in [
        "record issuer-registered",
        "record share-class-defined",
        "record opening-balance",
        "record repurchase-mandate-granted",
        "import-trades examples/trades-executions.csv",
        "return nddr",
        "--mark-filed",
        "record repurchased-shares-cancelled",
        "return monthly",
        "status",
    ] {
        assert!(all.contains(needle), "the quickstart has no `{needle}`");
    }

    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("examples")).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), work.join("examples").join(entry.file_name())).unwrap();
        }
    }
    let db = dir.path().join("quickstart.db");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_shareledger"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();

    let mut outputs = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        let out = Command::new("sh")
            .arg("-c")
            .arg(c)
            .current_dir(&work)
            .env("PATH", &path)
            .env("SHARELEDGER_DB", &db)
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "README quickstart command {} failed ({}):\n  {c}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            i + 1,
            out.status
        );
        outputs.push((c.clone(), stdout, stderr));
    }

    // What the day left behind.
    let find = |prefix: &str| {
        outputs
            .iter()
            .find(|(c, _, _)| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no command starting {prefix}"))
    };
    let (_, table, _) = find("shareledger import-trades examples/trades-executions.csv --issuer 08888 --class ORD --dry-run");
    assert!(
        table.contains("750,000") && table.contains("HKD 2,341,000.00"),
        "{table}"
    );
    let (_, monthly, _) = find("shareledger return monthly");
    assert!(monthly.contains("-750,000"), "{monthly}");
    let log = Command::new(env!("CARGO_BIN_EXE_shareledger"))
        .args(["log", "--format", "json"])
        .env("SHARELEDGER_DB", &db)
        .output()
        .unwrap();
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let filed = events
        .iter()
        .filter(|e| e["type"] == "return_filed")
        .count();
    assert_eq!(
        filed, 5,
        "two NDDRs and a Monthly Return in June; in July an NDDR and its amendment"
    );
    let amendment = events
        .iter()
        .rev()
        .find(|e| e["type"] == "return_filed")
        .unwrap();
    assert_eq!(amendment["status"], "Amendment", "{amendment}");
    let amended = amendment["amends"]
        .as_str()
        .expect("the amendment names a filing");
    let original = events
        .iter()
        .find(|e| e["id"] == amended)
        .expect("that filing is in the log");
    assert_eq!(original["date"], "2025-07-03");
    let (_, status, _) = find("shareledger status --issuer 08888 --now 2025-07-04T09:00:00+08:00");
    assert!(
        status.contains("must be filed again (amendment)"),
        "{status}"
    );
    let html_files: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .collect();
    for f in &html_files {
        let html = std::fs::read_to_string(f.path()).unwrap();
        assert!(html.contains("FF305"), "{} is the NDDR", f.path().display());
    }
}

#[test]
fn commands_are_split_as_a_shell_reads_them() {
    let block = "# a comment\nshareledger a \\\n    --b \"c d\"\n\nshareledger e\n";
    assert_eq!(
        commands(block),
        vec![
            "shareledger a --b \"c d\"".to_string(),
            "shareledger e".to_string()
        ]
    );
    let text = "x\n```sh\none\n```\n```\nnot sh\n```\n```sh\ntwo\n```\n";
    assert_eq!(
        sh_blocks(text),
        vec!["one\n".to_string(), "two\n".to_string()]
    );
}
