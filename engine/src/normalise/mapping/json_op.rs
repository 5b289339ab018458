//! The `json` operator: parses a JSON object (simd-json), takes the values its JSON pointers
//! name, and keeps every other scalar under its dotted path (`userIdentity.arn`) unless
//! `rest = "drop"`.

use super::record::Record;
use crate::schema::Text;
use simd_json::prelude::*;
use simd_json::BorrowedValue;

/// Runs the operator on `s`; false when `s` is not a JSON object.
pub fn run(rec: &mut Record, s: &str, paths: &[(Text, Vec<String>)], keep_rest: bool) -> bool {
    let start = match s.find('{') {
        Some(i) => i,
        None => return false,
    };
    let mut buf = s.as_bytes()[start..].to_vec();
    let Ok(root) = simd_json::to_borrowed_value(&mut buf) else {
        return false;
    };
    if root.as_object().is_none() {
        return false;
    }
    let mut taken: Vec<String> = Vec::with_capacity(paths.len());
    for (to, segs) in paths {
        let mut cur = &root;
        let mut found = true;
        for seg in segs {
            let next = match cur {
                BorrowedValue::Object(o) => o.get(seg.as_str()),
                BorrowedValue::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        if let Some(v) = scalar_text(cur) {
            rec.set(to.clone(), v);
            taken.push(segs.join("."));
        }
    }
    if keep_rest {
        let mut prefix = String::new();
        flatten(rec, &root, &mut prefix, &taken, 0);
    }
    true
}

/// The text of a scalar (strings as-is, numbers and booleans as JSON); arrays and objects as
/// compact JSON; `None` for null.
fn scalar_text(v: &BorrowedValue<'_>) -> Option<Text> {
    match v {
        BorrowedValue::String(s) => Some(Text::copy_from(s)),
        BorrowedValue::Static(simd_json::StaticNode::Null) => None,
        other => Some(Text::from_string(other.encode())),
    }
}

fn flatten(
    rec: &mut Record,
    v: &BorrowedValue<'_>,
    path: &mut String,
    taken: &[String],
    depth: usize,
) {
    match v {
        BorrowedValue::Object(o) if depth < 16 => {
            for (k, child) in o.iter() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(rec, child, path, taken, depth + 1);
                path.truncate(len);
            }
        }
        other => {
            if path.is_empty() || taken.iter().any(|t| t == path) || rec.get(path).is_some() {
                return;
            }
            if let Some(t) = scalar_text(other) {
                rec.set(Text::copy_from(path), t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_take_values_and_the_rest_is_kept_dotted() {
        let mut rec = Record::new();
        let paths = vec![
            (
                Text::from_static("actor.user.name"),
                vec!["userIdentity".to_owned(), "userName".to_owned()],
            ),
            (
                Text::from_static("src_endpoint.ip"),
                vec!["sourceIPs".to_owned(), "0".to_owned()],
            ),
        ];
        let line = r#"{"userIdentity":{"userName":"alice","type":"IAMUser"},"sourceIPs":["10.0.0.1","10.0.0.2"],"n":3,"z":null}"#;
        assert!(run(&mut rec, line, &paths, true));
        assert_eq!(rec.get("actor.user.name").unwrap().as_str(), "alice");
        assert_eq!(rec.get("src_endpoint.ip").unwrap().as_str(), "10.0.0.1");
        assert_eq!(rec.get("userIdentity.type").unwrap().as_str(), "IAMUser");
        assert_eq!(rec.get("n").unwrap().as_str(), "3");
        assert!(rec.get("userIdentity.userName").is_none());
        assert!(rec.get("z").is_none());
        assert!(!run(&mut Record::new(), "not json", &paths, true));
    }
}
