//! `x-kubernetes-validations` rules: CEL expressions evaluated with `self` (and, for transition
//! rules, `oldSelf`) bound, plus the Kubernetes CEL library functions the vendored CRDs use
//! (`isIP`, `isCIDR`, `isURL`, `ip(…).family()`, `lowerAscii`). IP values are represented by their
//! string form, which is all `family()` needs.

use cel::extractors::This;
use cel::{Context, Program};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct RuleCache {
    programs: Mutex<HashMap<String, Option<Arc<Program>>>>,
}

/// Why a rule did not pass.
pub enum Outcome {
    Passed,
    Failed,
    /// The rule could not be evaluated (the apiserver reports this as an invalid value too).
    Error(String),
}

fn library(ctx: &mut Context) {
    let registered = [
        ctx.add_function("isIP", |s: Arc<String>| s.parse::<std::net::IpAddr>().is_ok()),
        ctx.add_function("isCIDR", |s: Arc<String>| is_cidr(&s)),
        ctx.add_function("isURL", |s: Arc<String>| is_url(&s)),
        ctx.add_function("ip", |s: Arc<String>| s.clone()),
        ctx.add_function(
            "family",
            |This(s): This<Arc<String>>| if s.contains(':') { 6i64 } else { 4 },
        ),
        ctx.add_function("lowerAscii", |This(s): This<Arc<String>>| {
            Arc::new(s.to_ascii_lowercase())
        }),
    ];
    for r in registered {
        r.expect("library function names do not clash with the standard library");
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max)
}

fn is_url(s: &str) -> bool {
    s.parse::<http::Uri>()
        .is_ok_and(|u| u.scheme().is_some() && u.host().is_some())
}

impl RuleCache {
    fn program(&self, rule: &str) -> Option<Arc<Program>> {
        let mut programs = self.programs.lock().unwrap();
        programs
            .entry(rule.to_string())
            .or_insert_with(|| Program::compile(rule).ok().map(Arc::new))
            .clone()
    }

    /// Whether `rule` needs the previous value (a transition rule).
    pub fn is_transition(rule: &str) -> bool {
        rule.contains("oldSelf")
    }

    pub fn evaluate(&self, rule: &str, this: &Value, old: Option<&Value>) -> Outcome {
        let Some(program) = self.program(rule) else {
            return Outcome::Error(format!("compilation failed for rule: {rule}"));
        };
        let mut ctx = Context::default();
        library(&mut ctx);
        let to_cel = |v: &Value| cel::to_value(v).map_err(|e| e.to_string());
        match to_cel(this) {
            Ok(v) => ctx.add_variable_from_value("self", v),
            Err(e) => return Outcome::Error(e),
        }
        if let Some(old) = old {
            match to_cel(old) {
                Ok(v) => ctx.add_variable_from_value("oldSelf", v),
                Err(e) => return Outcome::Error(e),
            }
        }
        match program.execute(&ctx) {
            Ok(cel::Value::Bool(true)) => Outcome::Passed,
            Ok(cel::Value::Bool(false)) => Outcome::Failed,
            Ok(other) => Outcome::Error(format!("rule evaluated to {other:?}, not a bool")),
            Err(e) => Outcome::Error(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_from_the_vendored_crds() {
        let c = RuleCache::default();
        let azure = "has(self.type) && self.type == 'Internal' ?  true : !has(self.internal)";
        assert!(matches!(
            c.evaluate(azure, &json!({"type": "External", "internal": {}}), None),
            Outcome::Failed
        ));
        assert!(matches!(
            c.evaluate(azure, &json!({"type": "Internal", "internal": {}}), None),
            Outcome::Passed
        ));
        let ips = "self.all(x, isIP(x)) && (size(self) < 2 || ip(self[0]).family() != ip(self[1]).family())";
        assert!(matches!(
            c.evaluate(ips, &json!(["10.0.0.1", "fd00::1"]), None),
            Outcome::Passed
        ));
        assert!(matches!(
            c.evaluate(ips, &json!(["10.0.0.1", "10.0.0.2"]), None),
            Outcome::Failed
        ));
        assert!(matches!(
            c.evaluate("self >= oldSelf", &json!(1), Some(&json!(2))),
            Outcome::Failed
        ));
        assert!(matches!(
            c.evaluate("self.lowerAscii() != 'x'", &json!("X"), None),
            Outcome::Failed
        ));
        assert!(matches!(
            c.evaluate("isCIDR(self)", &json!("10.0.0.0/16"), None),
            Outcome::Passed
        ));
        assert!(matches!(
            c.evaluate("self.missing == 1", &json!({}), None),
            Outcome::Error(_)
        ));
    }
}
