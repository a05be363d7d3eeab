//! Fault injection for client tests and the call log.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Faults applied to `/api` calls. Counters count down with each call they affect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSettings {
    /// Added to every call before it is answered.
    #[serde(with = "millis", rename = "latency_ms", default)]
    pub latency: Duration,
    /// The next N calls get `ERROR_TRANSIENT` without running.
    #[serde(default)]
    pub transient_errors: u32,
    /// The next N calls get HTTP 503 (no leader known, reference §2.1).
    #[serde(default)]
    pub unavailable: u32,
    /// Act as a non-leader: answer 307 with `Location: <this base URL>/api` (§2.1).
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// The next N calls run, but the connection is dropped half-way through the reply.
    #[serde(default)]
    pub drop_connections: u32,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A partial change of [`FaultSettings`] (admin API `POST /sim/faults`): absent fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    /// See [`FaultSettings::latency`].
    pub latency_ms: Option<u64>,
    /// See [`FaultSettings::transient_errors`].
    pub transient_errors: Option<u32>,
    /// See [`FaultSettings::unavailable`].
    pub unavailable: Option<u32>,
    /// See [`FaultSettings::redirect_to`]; `""` clears it.
    pub redirect_to: Option<String>,
    /// See [`FaultSettings::drop_connections`].
    pub drop_connections: Option<u32>,
}

impl FaultSettings {
    /// Applies a patch.
    pub fn apply(&mut self, p: FaultPatch) {
        if let Some(v) = p.latency_ms {
            self.latency = Duration::from_millis(v);
        }
        if let Some(v) = p.transient_errors {
            self.transient_errors = v;
        }
        if let Some(v) = p.unavailable {
            self.unavailable = v;
        }
        if let Some(v) = p.redirect_to {
            self.redirect_to = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = p.drop_connections {
            self.drop_connections = v;
        }
    }
}

/// One line of the call log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Simulated time of the call (ms since the epoch).
    pub time_ms: i64,
    /// The Thrift method, when the body could be read.
    pub method: Option<String>,
    /// The response code's name, when a `Response` was sent.
    pub response_code: Option<String>,
    /// The HTTP status sent.
    pub http_status: u16,
    /// The injected fault, if any (`transient`, `unavailable`, `redirect`, `drop`).
    pub fault: Option<String>,
    /// The call's arguments in `aurora_thrift::json`'s view, when
    /// [`crate::SimConfig::log_call_args`] is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
}
