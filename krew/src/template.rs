//! Renders a `.krew.yaml` template the way krew-release-bot does: `{{ .TagName }}` becomes the
//! release tag, and `{{ addURIAndSha "URL" .TagName }}` becomes a `uri:` line and a `sha256:` line
//! (the digest of the archive at that URL), re-indented by `| indent N` when present.

use anyhow::{Result, anyhow, bail};

const TAG: &str = "{{ .TagName }}";
const ADD: &str = "{{ addURIAndSha \"";

/// `sha_of` gives the sha256 of the archive published at a URL.
pub fn render(template: &str, tag: &str, sha_of: impl Fn(&str) -> Result<String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find(ADD) {
        out.push_str(&rest[..start]);
        let after = &rest[start + ADD.len()..];
        let close = after
            .find("}}\n")
            .or_else(|| after.rfind("}}"))
            .ok_or_else(|| anyhow!("unterminated addURIAndSha"))?;
        // The URL itself contains `{{ .TagName }}`, so the action ends at the `}}` closing the line.
        let action = &after[..close];
        let quote = action
            .rfind('"')
            .ok_or_else(|| anyhow!("addURIAndSha needs a quoted URL"))?;
        let url = action[..quote].replace(TAG, tag);
        let tail = action[quote + 1..].trim();
        let indent = match tail.split_once('|') {
            None if tail == ".TagName" => 4,
            Some((arg, pipe)) if arg.trim() == ".TagName" => {
                let n = pipe
                    .trim()
                    .strip_prefix("indent")
                    .ok_or_else(|| anyhow!("unknown template function in {pipe:?}"))?;
                n.trim()
                    .parse()
                    .map_err(|_| anyhow!("indent needs a number, got {n:?}"))?
            }
            _ => bail!("addURIAndSha takes a URL and .TagName, got {tail:?}"),
        };
        let sha = sha_of(&url)?;
        out.push_str(&format!("uri: {url}\n{}sha256: {sha}", " ".repeat(indent)));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    if out.contains("{{") && !out.contains(TAG) {
        bail!("the template uses an action this renderer does not know");
    }
    Ok(out.replace(TAG, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tags_uris_and_digests() {
        let t = "version: {{ .TagName }}\nplatforms:\n- selector: {}\n  {{ addURIAndSha \"https://x/{{ .TagName }}/a.tar.gz\" .TagName | indent 2 }}\n  bin: a\n";
        let out = render(t, "v1.0.0", |url| Ok(format!("sha-of-{url}"))).unwrap();
        assert_eq!(
            out,
            "version: v1.0.0\nplatforms:\n- selector: {}\n  uri: https://x/v1.0.0/a.tar.gz\n  sha256: sha-of-https://x/v1.0.0/a.tar.gz\n  bin: a\n"
        );
    }
}
