//! A cheap well-formedness check of a standalone SVG document, for tests of charts and reports.

/// Tags balance, one `svg` root, attribute quotes pair up, every `&` starts an entity, and no
/// NaN or infinity leaked into the numbers.
pub fn check_svg(s: &str) -> Result<(), String> {
    for bad in ["NaN", "inf"] {
        if s.contains(bad) {
            return Err(format!("contains {bad}"));
        }
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = s;
    while let Some(i) = rest.find(['<', '&']) {
        let at = &rest[i..];
        if let Some(after) = at.strip_prefix('&') {
            let ok = ["amp;", "lt;", "gt;", "quot;", "apos;"].iter().any(|e| after.starts_with(e));
            if !ok {
                return Err(format!("bare & before {:?}", after.chars().take(20).collect::<String>()));
            }
            rest = after;
            continue;
        }
        let end = at.find('>').ok_or("unclosed tag")?;
        let tag = &at[1..end];
        check_tag(tag, &mut stack, &mut roots)?;
        rest = &at[end + 1..];
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} roots"));
    }
    Ok(())
}

/// One tag's text between `<` and `>`: opens or closes an element on `stack`.
fn check_tag<'a>(tag: &'a str, stack: &mut Vec<&'a str>, roots: &mut usize) -> Result<(), String> {
    if tag.contains('<') {
        return Err(format!("'<' inside tag {tag:?}"));
    }
    if !tag.matches('"').count().is_multiple_of(2) {
        return Err(format!("unbalanced quotes in {tag:?}"));
    }
    if let Some(name) = tag.strip_prefix('/') {
        return match stack.pop() {
            Some(open) if open == name => Ok(()),
            other => Err(format!("</{name}> closes {other:?}")),
        };
    }
    let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
    if name.is_empty() {
        return Err("empty tag name".into());
    }
    if stack.is_empty() {
        *roots += 1;
        if name != "svg" {
            return Err(format!("root is {name}"));
        }
    }
    if !tag.ends_with('/') {
        stack.push(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_catches_mistakes() {
        let cases = [
            "<svg><g></svg>",
            "<svg></g></svg>",
            "<svg><text>a & b</text></svg>",
            "<svg x=\"1></svg>",
            "<svg/><svg/>",
            "<svg><text>NaN</text></svg>",
            "<svg>",
        ];
        for c in cases {
            assert!(check_svg(c).is_err(), "{c}");
        }
        assert!(check_svg("<svg><g a=\"1\"/><text>a &amp; b</text></svg>").is_ok());
    }
}
