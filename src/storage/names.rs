//! The names the registry gives storage it creates, as the operator derives them from the
//! infrastructure name: deterministic for S3 (a retried creation finds the same bucket), padded
//! with random letters elsewhere.

/// Storage names are padded or cut to this length (bucket and container limits).
const STORAGE_NAME_LENGTH: usize = 62;

/// Random lowercase letters, injectable so that tests get stable names.
pub trait Randomness {
    fn letters(&mut self, count: usize) -> String;
    /// `count` random bytes, hex-encoded.
    fn hex(&mut self, count: usize) -> String;
}

/// The operating system's secure random source.
pub struct OsRandom;

impl Randomness for OsRandom {
    fn letters(&mut self, count: usize) -> String {
        let mut bytes = vec![0u8; count];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        // a–y, as the operator's generator: 25 letters.
        bytes.iter().map(|b| (b'a' + b % 25) as char).collect()
    }

    fn hex(&mut self, count: usize) -> String {
        let mut bytes = vec![0u8; count];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `<infra>-image-registry[-<extra>]`, lower-cased, runs of dashes collapsed.
fn base_name(infra: &str, extra: &str) -> String {
    let raw = if extra.is_empty() {
        format!("{infra}-image-registry")
    } else {
        format!("{infra}-image-registry-{extra}")
    };
    let mut out = String::with_capacity(raw.len());
    for c in raw.to_lowercase().chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The S3 bucket name: deterministic, so a retried creation finds the same bucket.
pub fn deterministic_name(infra: &str, region: &str) -> String {
    let mut name = base_name(infra, region);
    name.truncate(STORAGE_NAME_LENGTH);
    if name.ends_with('-') {
        name.pop();
        name.push('s');
    }
    name
}

/// The operator's random variant: padded with `-` and random letters to exactly 62 characters.
pub fn random_name(infra: &str, extra: &str, random: &mut dyn Randomness) -> String {
    let mut name = base_name(infra, extra);
    match name.len() {
        n if n >= STORAGE_NAME_LENGTH => {
            name.truncate(STORAGE_NAME_LENGTH);
            if name.ends_with('-') {
                name.pop();
                name.push_str(&random.letters(1));
            }
        }
        n if n == STORAGE_NAME_LENGTH - 1 => name.push_str(&random.letters(1)),
        n => {
            name.push('-');
            name.push_str(&random.letters(STORAGE_NAME_LENGTH - n - 1));
        }
    }
    name
}

/// `imageregistry` + the infrastructure name's letters and digits, cut to 19, + 5 random letters.
pub fn azure_account_name(infra: &str, random: &mut dyn Randomness) -> String {
    let mut name: String = format!("imageregistry{infra}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(19)
        .collect();
    name.push_str(&random.letters(5));
    name.to_lowercase()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Predictable "randomness" for tests.
    pub struct Fixed;
    impl Randomness for Fixed {
        fn letters(&mut self, count: usize) -> String {
            "x".repeat(count)
        }
        fn hex(&mut self, count: usize) -> String {
            "ab".repeat(count)
        }
    }

    #[test]
    fn names_follow_the_operator() {
        assert_eq!(
            deterministic_name("sim-7xk2p", "us-east-1"),
            "sim-7xk2p-image-registry-us-east-1"
        );
        let long = "a".repeat(60);
        assert_eq!(deterministic_name(&long, "r").len(), 62);
        let n = random_name("sjenning-dev", "us-west-1", &mut Fixed);
        assert_eq!(n.len(), 62);
        assert!(n.starts_with("sjenning-dev-image-registry-us-west-1-xx"));
        assert_eq!(azure_account_name("Sim-7xk2p", &mut Fixed), "imageregistrysim7xkxxxxx");
        assert_eq!(base_name("a--b", ""), "a-b-image-registry");
    }
}
