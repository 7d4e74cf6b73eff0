//! A throwaway PostgreSQL cluster for tests (cargo feature `testing`): the
//! first call of [`database`] in a test binary runs `initdb` into a new
//! temporary directory and starts a server on a free port of 127.0.0.1; each
//! call then creates a new, empty database on it and returns its URL.
//!
//! The server is stopped (`pg_ctl stop -m immediate`) and its directory
//! removed when the test process exits, and, should the process be killed
//! instead, by a small watchdog shell that waits for the process to go away.
//!
//! The server binaries are taken from `$SHARELEDGER_PG_BIN`, else
//! `/usr/lib/postgresql/15/bin`, else the newest `/usr/lib/postgresql/*/bin`.
//! `initdb` refuses to run as root: as root, the directory is given to the
//! `postgres` user and the binaries run through `runuser -u postgres --`.
//!
//! When no server can be started, [`database`] prints `skipped: …` and
//! returns `None` (the test returns early), except when the environment
//! variable `CI` is set: then it panics, so CI cannot pass without
//! PostgreSQL.
//!
//! The cluster runs with `fsync=off` (tests need speed, not durability
//! across a power cut) unless `SHARELEDGER_PG_TEST_FSYNC` is set, as for the
//! figures of `tests/pg_bench.rs`.

#![allow(clippy::missing_panics_doc)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// One running throwaway cluster.
#[derive(Debug)]
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
    next: AtomicU32,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The URL of a new, empty database (UTF8) on this process's throwaway
/// cluster; `None` (after printing `skipped: …`) when no server can be
/// started and `CI` is not set.
///
/// # Panics
/// When no server can be started and `CI` is set.
pub fn database() -> Option<String> {
    let cluster = match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => return skip(e),
    };
    match cluster.create_database() {
        Ok(url) => Some(url),
        Err(e) => skip(&e),
    }
}

/// The URL of the cluster's `postgres` database (superuser `postgres`), to
/// inspect or tamper with a ledger behind the store's back; `None` as for
/// [`database`].
pub fn admin_url() -> Option<String> {
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c.url("postgres")),
        Err(e) => skip(e),
    }
}

fn skip(reason: &str) -> Option<String> {
    if std::env::var_os("CI").is_some() {
        panic!(
            "the PostgreSQL test cluster cannot start, and CI is set so this test fails \
             instead of skipping: {reason}"
        );
    }
    println!("skipped: the PostgreSQL test cluster cannot start: {reason}");
    eprintln!("skipped: the PostgreSQL test cluster cannot start: {reason}");
    None
}

fn find_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("SHARELEDGER_PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        return Err(format!(
            "SHARELEDGER_PG_BIN={} holds no initdb",
            dir.display()
        ));
    }
    let preferred = Path::new("/usr/lib/postgresql/15/bin");
    if preferred.join("initdb").is_file() {
        return Ok(preferred.to_path_buf());
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, b)| b).ok_or_else(|| {
        "no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin: \
         install them (apt-get install postgresql-15) or set SHARELEDGER_PG_BIN"
            .to_string()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn create_database(&self) -> Result<String, String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("ledger_{}_{n}", std::process::id());
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|e| format!("cannot connect to the test cluster: {e}"))?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' STRATEGY FILE_COPY"
            ))
            .map_err(|e| format!("cannot create database {name}: {e:?}"))?;
        Ok(self.url(&name))
    }

    fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn start() -> Result<Cluster, String> {
    let bin = find_bin()?;
    let as_postgres = is_root();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("shareledger-pg-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut cluster = Cluster {
        dir,
        bin,
        as_postgres,
        port: 0,
        next: AtomicU32::new(0),
    };
    let result = (|| {
        if as_postgres {
            run(
                Command::new("chown").arg("postgres:").arg(&cluster.dir),
                "chown postgres",
            )?;
        }
        run(
            cluster
                .command("initdb")
                .arg("-D")
                .arg(cluster.data())
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-N",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]),
            "initdb",
        )?;
        let mut last_err = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            let durability = if std::env::var_os("SHARELEDGER_PG_TEST_FSYNC").is_some() {
                "" // measured figures: a durable server
            } else {
                "-c fsync=off -c full_page_writes=off"
            };
            let opts = format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} {durability} -c max_connections=200",
                cluster.port,
                cluster.dir.display()
            );
            let started = run(
                cluster
                    .command("pg_ctl")
                    .arg("-D")
                    .arg(cluster.data())
                    .arg("-l")
                    .arg(cluster.dir.join("server.log"))
                    .args(["-o", &opts, "-w", "-t", "60", "start"]),
                "pg_ctl start",
            );
            match started {
                Ok(()) => return Ok(()),
                Err(e) => last_err = e,
            }
        }
        let log = std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
        Err(format!("{last_err}\nserver log:\n{log}"))
    })();
    if let Err(e) = result {
        cluster.stop();
        return Err(e);
    }
    watchdog(&cluster);
    // SAFETY: `atexit` only records the function pointer; `stop_at_exit`
    // touches nothing but the initialised `CLUSTER`.
    unsafe {
        atexit(stop_at_exit);
    }
    Ok(cluster)
}

extern "C" {
    fn atexit(f: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn stop_at_exit() {
    if let Some(Ok(c)) = CLUSTER.get() {
        c.stop();
    }
}

/// Stop the cluster when this process is gone, however it ends.
fn watchdog(c: &Cluster) {
    use std::os::unix::process::CommandExt;
    let pg_ctl = c.bin.join("pg_ctl");
    let stop = if c.as_postgres {
        format!("runuser -u postgres -- '{}'", pg_ctl.display())
    } else {
        format!("'{}'", pg_ctl.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         if [ -d '{data}' ]; then {stop} -D '{data}' stop -m immediate >/dev/null 2>&1; fi; \
         rm -rf '{dir}'",
        pid = std::process::id(),
        data = c.data().display(),
        dir = c.dir.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}
