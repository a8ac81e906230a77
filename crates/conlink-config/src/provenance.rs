//! Where each entry of the merged config came from, so an issue found on
//! the merged document names the file and, for compose, the service:
//! `/links/0/mtu (compose.yaml: services.h1 x-network links[0].mtu)`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::ConfigIssue;
use crate::links::LinkMerge;

/// For each top-level list (`links`, `bridges`, …) of the merged document,
/// the origin of each entry, in merge order (lists concatenate).
#[derive(Debug, Default, Clone)]
pub struct Provenance {
    lists: BTreeMap<String, Vec<String>>,
}

impl Provenance {
    /// Records `frag`'s lists; `origin` is the file, `prefix` where the
    /// fragment sits in it (`""`, `"x-network "`, `"services.h1 x-network "`).
    pub fn record(&mut self, origin: &str, prefix: &str, frag: &Value) {
        let Some(obj) = frag.as_object() else { return };
        for (key, v) in obj {
            if let Value::Array(items) = v {
                let labels = self.lists.entry(key.clone()).or_default();
                labels.extend((0..items.len()).map(|i| format!("{origin}: {prefix}{key}[{i}]")));
            }
        }
    }

    /// Drops lists whose length no longer matches the merged document (a
    /// later file replaced a list with a scalar): better no source than a wrong one.
    pub fn keep_consistent(&mut self, doc: &Value) {
        self.lists.retain(|k, labels| {
            doc.get(k).and_then(Value::as_array).is_some_and(|a| a.len() == labels.len())
        });
    }

    /// The source of pointer `/KEY/INDEX/rest…` (in merge-order indexes).
    fn source_of(&self, ptr: &str) -> Option<String> {
        let mut segs = ptr.strip_prefix('/')?.split('/');
        let key = unescape(segs.next()?);
        let idx: usize = segs.next()?.parse().ok()?;
        let mut out = self.lists.get(&key)?.get(idx)?.clone();
        for s in segs {
            let s = unescape(s);
            if s.parse::<usize>().is_ok() {
                out.push_str(&format!("[{s}]"));
            } else {
                out.push('.');
                out.push_str(&s);
            }
        }
        Some(out)
    }
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// Maps issues on the merged, link-merged document back to what the user
/// wrote: the index in the concatenated list, and the file/service.
pub struct Locator {
    /// What link merging did: groups of original indexes, and the keys of merged entries.
    pub merge: LinkMerge,
    pub provenance: Provenance,
}

impl Locator {
    /// `i` with its path pointing at what the user wrote, and its source set.
    /// A key's issue points at the last entry that set the key, an object's
    /// issue at the first entry, naming all entries when several were merged.
    pub fn locate(&self, mut i: ConfigIssue) -> ConfigIssue {
        if let Some((path, merged_from)) = self.remap_link(&i.path) {
            i.path = path;
            if let Some(all) = merged_from {
                i.message.push_str(&format!(" (in the link merged from {all})"));
            }
        }
        if i.source.is_none() {
            i.source = self.provenance.source_of(&i.path);
        }
        i
    }

    /// A merged pointer as a reference inside a message: `/links/3 (net.yaml: links[1])`.
    pub fn describe(&self, merged_ptr: &str) -> String {
        let i = self.locate(ConfigIssue::new(merged_ptr, ""));
        match i.source {
            Some(src) => format!("{} ({src})", i.path),
            None => i.path,
        }
    }

    fn remap_link(&self, path: &str) -> Option<(String, Option<String>)> {
        let rest = path.strip_prefix("/links/")?;
        let (idx, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let group = idx.parse::<usize>().ok().and_then(|n| self.merge.groups.get(n))?;
        let key = unescape(tail.split('/').next().unwrap_or(""));
        // A group of one has no recorded keys: its only entry is the answer anyway.
        let setter = group
            .iter()
            .rev()
            .find(|&&o| !key.is_empty() && self.merge.keys.get(&o).is_some_and(|ks| ks.contains(&key)));
        let orig = setter.copied().unwrap_or(group[0]);
        let path = if tail.is_empty() { format!("/links/{orig}") } else { format!("/links/{orig}/{tail}") };
        let merged_from = (group.len() > 1)
            .then(|| group.iter().map(|g| format!("/links/{g}")).collect::<Vec<_>>().join(", "));
        Some((path, merged_from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::merge_links;
    use serde_json::json;

    fn prov() -> Provenance {
        let mut p = Provenance::default();
        p.record("compose.yaml", "x-network ", &json!({"bridges": [{"bridge": "s1"}]}));
        p.record(
            "compose.yaml",
            "services.h1 x-network ",
            &json!({"links": [{"mtu": 1}, {"ip": ["a", "b"]}]}),
        );
        p.record("net.yaml", "", &json!({"links": [{}], "bridges": [{}]}));
        p
    }

    #[test]
    fn sources_follow_merge_order() {
        let p = prov();
        assert_eq!(p.source_of("/links/0/mtu").unwrap(), "compose.yaml: services.h1 x-network links[0].mtu");
        assert_eq!(
            p.source_of("/links/1/ip/1").unwrap(),
            "compose.yaml: services.h1 x-network links[1].ip[1]"
        );
        assert_eq!(p.source_of("/links/2").unwrap(), "net.yaml: links[0]");
        assert_eq!(p.source_of("/bridges/1/bridge").unwrap(), "net.yaml: bridges[0].bridge");
        assert_eq!(p.source_of("/links/3"), None);
        assert_eq!(p.source_of("/"), None);
    }

    #[test]
    fn inconsistent_lists_are_dropped() {
        let mut p = prov();
        p.keep_consistent(&json!({"links": [1, 2, 3], "bridges": 5}));
        assert!(p.source_of("/links/0").is_some());
        assert!(p.source_of("/bridges/0").is_none());
    }

    #[test]
    fn merged_links_point_at_the_setter_with_source() {
        let mut doc =
            json!({"links": [{"service": "a", "mtu": 1}, {"service": "b"}, {"service": "a", "ip": "x"}]});
        let loc = Locator { merge: merge_links(&mut doc), provenance: prov() };
        let i = loc.locate(ConfigIssue::new("/links/0/ip", "bad"));
        assert_eq!(i.path, "/links/2/ip");
        assert_eq!(i.source.as_deref(), Some("net.yaml: links[0].ip"));
        assert!(i.message.ends_with("(in the link merged from /links/0, /links/2)"));
        assert_eq!(loc.describe("/links/1"), "/links/1 (compose.yaml: services.h1 x-network links[1])");
    }
}
