//! HTTP Basic credentials for the scheduler, and where they come from.
//!
//! A scheduler started with `-http_authentication_mechanism=BASIC` answers every write RPC
//! without valid credentials with HTTP 401 (reads work anonymously). Aurora's Python client
//! gets its credentials from `~/.netrc` (through `requests`); we do the same and also accept
//! them from the configuration and the environment. The lookup order, first hit wins:
//!
//! 1. **explicit**: [`Credentials`] given by the caller (e.g. the CLI's own configuration);
//! 2. **environment**: [`ENV_USERNAME`] (`AURORA_USERNAME`) and [`ENV_PASSWORD`]
//!    (`AURORA_PASSWORD`), both set;
//! 3. **netrc**: the file named by `$NETRC`, else `$HOME/.netrc`; the entry whose `machine` is
//!    the scheduler's host name (no port, compared case-insensitively), else the `default`
//!    entry.
//!
//! Nothing found means "no credentials": calls go out anonymously, and a write answered with
//! 401 becomes [`ApiError::Auth`](crate::error::ApiError::Auth).
//!
//! Passwords never leave this module in readable form except inside the `Authorization`
//! header: [`Credentials`]' `Debug` redacts them and no error message contains them.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// Environment variable holding the user name (used only together with [`ENV_PASSWORD`]).
pub const ENV_USERNAME: &str = "AURORA_USERNAME";
/// Environment variable holding the password (used only together with [`ENV_USERNAME`]).
pub const ENV_PASSWORD: &str = "AURORA_PASSWORD";
/// Environment variable naming the netrc file to read instead of `$HOME/.netrc` (curl's and
/// Python `requests`' convention).
pub const ENV_NETRC: &str = "NETRC";

/// A user name and password for HTTP Basic authentication.
///
/// `Debug` shows the user name but never the password, so credentials can sit inside
/// configuration structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name (not secret; shown in logs and audit trails anyway).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password. Only for building the `Authorization` header; never log it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The value of the `Authorization` header: `Basic base64(user:password)`.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where resolved credentials came from, for diagnostics ("using credentials from ~/.netrc").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given explicitly by the caller.
    Explicit,
    /// From `AURORA_USERNAME` / `AURORA_PASSWORD`.
    Environment,
    /// From this netrc file (a `machine` entry or the `default` entry).
    Netrc(PathBuf),
}

/// Why credentials could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Only one of the two environment variables is set: almost certainly a mistake, and
    /// silently falling back to netrc would hide it.
    #[error("{present} is set but {missing} is not; set both or neither")]
    IncompleteEnvironment {
        /// The variable that is set.
        present: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// The netrc file exists but cannot be read.
    #[error("cannot read netrc file {path}: {source}")]
    NetrcUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Resolves credentials for `host` from the process environment and the user's netrc, in the
/// order described in the [module docs](self).
pub fn resolve(
    explicit: Option<Credentials>,
    host: &str,
) -> Result<Option<(Credentials, CredentialSource)>, AuthError> {
    resolve_with(explicit, host, |name| std::env::var(name).ok())
}

/// [`resolve`] with an injectable environment lookup, so the order can be tested without
/// touching the process environment.
pub fn resolve_with(
    explicit: Option<Credentials>,
    host: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(Credentials, CredentialSource)>, AuthError> {
    if let Some(creds) = explicit {
        return Ok(Some((creds, CredentialSource::Explicit)));
    }
    let user = env(ENV_USERNAME).filter(|v| !v.is_empty());
    let pass = env(ENV_PASSWORD).filter(|v| !v.is_empty());
    match (user, pass) {
        (Some(u), Some(p)) => {
            return Ok(Some((
                Credentials::new(u, p),
                CredentialSource::Environment,
            )));
        }
        (Some(_), None) => {
            return Err(AuthError::IncompleteEnvironment {
                present: ENV_USERNAME,
                missing: ENV_PASSWORD,
            });
        }
        (None, Some(_)) => {
            return Err(AuthError::IncompleteEnvironment {
                present: ENV_PASSWORD,
                missing: ENV_USERNAME,
            });
        }
        (None, None) => {}
    }
    let path = match env(ENV_NETRC).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => match env("HOME").filter(|v| !v.is_empty()) {
            Some(home) => Path::new(&home).join(".netrc"),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuthError::NetrcUnreadable { path, source }),
    };
    Ok(netrc_lookup(&text, host).map(|c| (c, CredentialSource::Netrc(path))))
}

/// Finds the credentials for `host` in netrc text: the first `machine` entry naming the host
/// (case-insensitive; a `:port` suffix on `host` is ignored), else the `default` entry.
/// Entries without both `login` and `password` are skipped. Malformed input never fails: it
/// just yields fewer entries.
pub fn netrc_lookup(text: &str, host: &str) -> Option<Credentials> {
    let host = strip_port(host);
    let entries = parse_netrc(text);
    let complete = |e: &&NetrcEntry| e.login.is_some() && e.password.is_some();
    let found = entries
        .iter()
        .filter(complete)
        .find(|e| {
            e.machine
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(host))
        })
        .or_else(|| {
            entries
                .iter()
                .filter(complete)
                .find(|e| e.machine.is_none())
        })?;
    Some(Credentials::new(
        found.login.clone().unwrap_or_default(),
        found.password.clone().unwrap_or_default(),
    ))
}

fn strip_port(host: &str) -> &str {
    // `[v6]:port`, `[v6]`, `host:port`, `host`.
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// One `machine` (or `default`, `machine == None`) entry.
#[derive(Debug, Default, PartialEq)]
struct NetrcEntry {
    machine: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

/// The netrc grammar as curl and Python's `netrc` read it: whitespace-separated tokens,
/// `machine NAME` / `default` start an entry, `login`, `password`, `account` take a value,
/// `macdef NAME` swallows lines up to the next blank line, `#` starts a comment, and a
/// token may be double-quoted with `\` escapes.
fn parse_netrc(text: &str) -> Vec<NetrcEntry> {
    let mut entries: Vec<NetrcEntry> = Vec::new();
    let mut tokens = Tokens::new(text);
    while let Some(tok) = tokens.next_token() {
        match tok.as_str() {
            "machine" => {
                let name = tokens.next_token();
                entries.push(NetrcEntry {
                    machine: Some(name.unwrap_or_default()),
                    ..NetrcEntry::default()
                });
            }
            "default" => entries.push(NetrcEntry::default()),
            "login" | "password" | "account" => {
                let value = tokens.next_token();
                if let Some(entry) = entries.last_mut() {
                    match tok.as_str() {
                        "login" => entry.login = value,
                        "password" => entry.password = value,
                        _ => {}
                    }
                }
            }
            "macdef" => {
                let _name = tokens.next_token();
                tokens.skip_macro_body();
            }
            _ => {} // unknown token: ignore, as curl does
        }
    }
    entries
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens { rest: text }
    }

    fn next_token(&mut self) -> Option<String> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with('#') {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                self.rest = &self.rest[end..];
                continue;
            }
            break;
        }
        if self.rest.is_empty() {
            return None;
        }
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        if self.rest.starts_with('"') {
            chars.next();
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    self.rest = &self.rest[i + 1..];
                    return Some(out);
                } else {
                    out.push(c);
                }
            }
            self.rest = "";
            return Some(out);
        }
        let end = self
            .rest
            .find(char::is_whitespace)
            .unwrap_or(self.rest.len());
        out.push_str(&self.rest[..end]);
        self.rest = &self.rest[end..];
        Some(out)
    }

    /// A macro body runs from the line after `macdef NAME` up to the first blank line.
    fn skip_macro_body(&mut self) {
        let mut rest = self.rest.find('\n').map_or("", |i| &self.rest[i + 1..]);
        while !rest.is_empty() {
            let (line, next) = rest.split_once('\n').unwrap_or((rest, ""));
            rest = next;
            if line.trim().is_empty() {
                break;
            }
        }
        self.rest = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Option<Credentials> {
        Some(Credentials::new(u, p))
    }

    #[test]
    fn machine_entry_matches_host_without_port() {
        let text = "machine other login a password b\nmachine aurora.example.com login alice password s3cret\n";
        assert_eq!(
            netrc_lookup(text, "aurora.example.com:8081"),
            creds("alice", "s3cret")
        );
        assert_eq!(
            netrc_lookup(text, "AURORA.example.com"),
            creds("alice", "s3cret")
        );
        assert_eq!(netrc_lookup(text, "nowhere"), None);
    }

    #[test]
    fn default_entry_is_the_fallback_wherever_it_appears() {
        let text = "default login d password dp\nmachine h login m password mp";
        assert_eq!(netrc_lookup(text, "h"), creds("m", "mp"));
        assert_eq!(netrc_lookup(text, "x"), creds("d", "dp"));
    }

    #[test]
    fn multi_line_entries_comments_quotes_and_account() {
        let text = "# my netrc\nmachine h\n  login \"bob smith\"\n  account acct\n  password \"p\\\"w d\"\n";
        assert_eq!(netrc_lookup(text, "h"), creds("bob smith", "p\"w d"));
    }

    #[test]
    fn macdef_bodies_are_skipped() {
        let text = "macdef init\nmachine evil login x password y\n\nmachine h login a password b\n";
        assert_eq!(netrc_lookup(text, "evil"), None);
        assert_eq!(netrc_lookup(text, "h"), creds("a", "b"));
    }

    #[test]
    fn incomplete_entries_are_skipped() {
        let text = "machine h login only\ndefault login d password dp";
        assert_eq!(netrc_lookup(text, "h"), creds("d", "dp"));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "machine",
            "login",
            "\"unterminated",
            "macdef",
            "password x",
            "machine \"h",
        ] {
            let _ = netrc_lookup(text, "h");
        }
    }

    #[test]
    fn ipv6_hosts_strip_the_port() {
        assert_eq!(strip_port("[::1]:8081"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("h:8081"), "h");
    }

    #[test]
    fn resolution_order_explicit_env_netrc() {
        let dir = tempfile::tempdir().expect("tempdir");
        let netrc = dir.path().join("netrc");
        std::fs::write(&netrc, "machine h login n password np\n").expect("write");
        let netrc_s = netrc.to_string_lossy().to_string();
        let full_env = |name: &str| match name {
            ENV_USERNAME => Some("e".to_string()),
            ENV_PASSWORD => Some("ep".to_string()),
            ENV_NETRC => Some(netrc_s.clone()),
            _ => None,
        };
        let explicit = Credentials::new("x", "xp");
        let got = resolve_with(Some(explicit.clone()), "h", full_env).expect("ok");
        assert_eq!(got, Some((explicit, CredentialSource::Explicit)));
        let got = resolve_with(None, "h", full_env).expect("ok");
        assert_eq!(
            got,
            Some((Credentials::new("e", "ep"), CredentialSource::Environment))
        );
        let netrc_only = |name: &str| (name == ENV_NETRC).then(|| netrc_s.clone());
        let got = resolve_with(None, "h:8081", netrc_only).expect("ok");
        assert_eq!(
            got,
            Some((
                Credentials::new("n", "np"),
                CredentialSource::Netrc(netrc.clone())
            ))
        );
        assert_eq!(resolve_with(None, "other", netrc_only).expect("ok"), None);
    }

    #[test]
    fn home_netrc_is_used_and_missing_file_is_no_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_string_lossy().to_string();
        let env = |name: &str| (name == "HOME").then(|| home.clone());
        assert_eq!(resolve_with(None, "h", env).expect("ok"), None);
        std::fs::write(dir.path().join(".netrc"), "default login d password dp").expect("write");
        let got = resolve_with(None, "h", env).expect("ok");
        assert_eq!(got.map(|(c, _)| c), creds("d", "dp"));
    }

    #[test]
    fn half_set_environment_is_an_error() {
        let env = |name: &str| (name == ENV_USERNAME).then(|| "u".to_string());
        assert!(matches!(
            resolve_with(None, "h", env),
            Err(AuthError::IncompleteEnvironment { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in "\\PC{0,200}", host in "\\PC{0,20}") {
            let _ = netrc_lookup(&text, &host);
        }

        #[test]
        fn written_entries_are_found(
            host in "[a-z0-9.-]{1,20}",
            login in "[!-~]{1,12}",
            password in "[!-~ ]{1,12}",
        ) {
            // Quote and escape as a netrc writer would; the parser must give the values back.
            let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
            let text = format!(
                "machine other login x password y\nmachine {host}\n  login {}\n  password {}\n",
                quote(&login),
                quote(&password)
            );
            proptest::prop_assert_eq!(netrc_lookup(&text, &host), creds(&login, &password));
        }
    }

    #[test]
    fn debug_redacts_password_and_header_is_basic() {
        let c = Credentials::new("aurora", "secret");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("aurora"));
        assert_eq!(c.basic_header(), "Basic YXVyb3JhOnNlY3JldA==");
    }
}
