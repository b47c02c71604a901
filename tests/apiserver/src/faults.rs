//! Fault injection: latency, 5xx answers with Retry-After, conflict storms, dropped connections and
//! dropped watches, huge and dripping answers, each limited to matching requests and a number of
//! occurrences.

use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// `GET`, `PATCH`, …; any when `None`.
    pub method: Option<String>,
    /// A substring of the request path; any when `None`.
    pub path_contains: Option<String>,
}

impl Matcher {
    pub fn any() -> Self {
        Matcher::default()
    }

    pub fn method(method: &str) -> Self {
        Matcher {
            method: Some(method.to_ascii_uppercase()),
            path_contains: None,
        }
    }

    pub fn path(path: &str) -> Self {
        Matcher {
            method: None,
            path_contains: Some(path.to_string()),
        }
    }

    pub fn and_path(mut self, path: &str) -> Self {
        self.path_contains = Some(path.to_string());
        self
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path_contains.as_deref().is_none_or(|p| path.contains(p))
    }
}

#[derive(Clone, Debug)]
pub enum FaultAction {
    /// Delay the answer.
    Latency(Duration),
    /// Answer with this 5xx code and a `Retry-After` header.
    ServerError { code: u16, retry_after_seconds: u64 },
    /// Answer writes with 409 Conflict as if another writer got there first.
    Conflict,
    /// Close the connection without answering.
    DropConnection,
    /// Answer 200 with this body, as a broken proxy in front of the server might.
    Garbage(&'static str),
    /// Answer 200 with a JSON object this many bytes long, made as it is sent (never held whole).
    Huge(usize),
    /// Send the real answer one byte per interval, as a stalled connection or a slow-loris proxy.
    Drip(Duration),
    /// Answer 429 as a proxy or load balancer does: a `Retry-After` header and a plain-text body.
    ProxyThrottle { retry_after_seconds: u64 },
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub matcher: Matcher,
    pub action: FaultAction,
    /// How many matching requests it affects; `None` for all of them.
    pub remaining: Option<usize>,
}

impl Fault {
    pub fn new(matcher: Matcher, action: FaultAction) -> Self {
        Fault {
            matcher,
            action,
            remaining: None,
        }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }
}

#[derive(Default)]
pub struct Faults {
    list: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.list.push(fault);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The actions that apply to this request, consuming one occurrence of each.
    pub fn take(&mut self, method: &str, path: &str) -> Vec<FaultAction> {
        let mut actions = Vec::new();
        for f in &mut self.list {
            if f.remaining == Some(0) || !f.matcher.matches(method, path) {
                continue;
            }
            if matches!(f.action, FaultAction::Conflict) && !matches!(method, "PUT" | "PATCH" | "POST" | "DELETE") {
                continue;
            }
            if let Some(n) = &mut f.remaining {
                *n -= 1;
            }
            actions.push(f.action.clone());
        }
        self.list.retain(|f| f.remaining != Some(0));
        actions
    }
}
