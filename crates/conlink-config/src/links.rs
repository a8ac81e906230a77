//! Links naming the same target and `dev` are one interface: merge them
//! (later keys win), keeping the position of the first. This runs before
//! validation because an entry may only add keys to a link defined
//! elsewhere (e.g. a network file adding `mtu` to a compose service's link).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// What link merging did, for messages about the merged document.
#[derive(Debug, Default, PartialEq)]
pub struct LinkMerge {
    /// For each resulting link, the indices of the original entries merged into it.
    pub groups: Vec<Vec<usize>>,
    /// The keys each original entry of a merged group (two or more entries) set, by
    /// index. Entries that were not merged are absent: a copy of every link only to
    /// answer "who set this key" would double the document in memory.
    pub keys: HashMap<usize, Vec<String>>,
}

/// Merges duplicate links in `doc["links"]`.
pub fn merge_links(doc: &mut Value) -> LinkMerge {
    let Some(links) = doc.get_mut("links").and_then(Value::as_array_mut) else {
        return LinkMerge::default();
    };
    let mut merged: Vec<Value> = Vec::new();
    let mut origin: Vec<Vec<usize>> = Vec::new();
    let mut keys: HashMap<usize, Vec<String>> = HashMap::new();
    // Key → position in `merged`: a map, so 100k links stay linear.
    let mut seen: HashMap<LinkKey, usize> = HashMap::new();
    for (i, l) in std::mem::take(links).into_iter().enumerate() {
        let obj = match l {
            Value::Object(obj) => obj,
            // Not an object: keep it for the schema to report.
            other => {
                merged.push(other);
                origin.push(vec![i]);
                continue;
            }
        };
        let key = link_key(&obj);
        match key.as_ref().and_then(|k| seen.get(k)).copied() {
            Some(pos) => {
                let existing = merged[pos].as_object_mut().expect("keyed entries are objects");
                if let [first] = origin[pos][..] {
                    // Not merged into yet: it holds exactly the first entry's keys.
                    keys.insert(first, existing.keys().cloned().collect());
                }
                keys.insert(i, obj.keys().cloned().collect());
                for (k, v) in obj {
                    existing.insert(k, v);
                }
                origin[pos].push(i);
            }
            None => {
                if let Some(k) = key {
                    seen.insert(k, merged.len());
                }
                merged.push(Value::Object(obj));
                origin.push(vec![i]);
            }
        }
    }
    *links = merged;
    LinkMerge { groups: origin, keys }
}

/// (target kind, target name, dev).
type LinkKey = (String, String, String);

/// The link's identity; `None` when it has no target (never merged).
fn link_key(l: &Map<String, Value>) -> Option<LinkKey> {
    let (kind, name) = ["service", "container"]
        .iter()
        .find_map(|k| l.get(*k).and_then(Value::as_str).map(|n| (k.to_string(), n.to_string())))?;
    let dev = l.get("dev").and_then(Value::as_str).unwrap_or("eth0").to_string();
    Some((kind, name, dev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_target_and_dev_merge_later_wins() {
        let mut doc = json!({"links": [
            {"service": "a", "bridge": "s1", "ip": "10.0.0.1/24"},
            {"service": "b", "bridge": "s1"},
            {"service": "a", "dev": "eth0", "ip": "10.0.0.9/24", "mtu": 1500}
        ]});
        let m = merge_links(&mut doc);
        assert_eq!(m.groups, [vec![0, 2], vec![1]]);
        // The keys of the merged entries only, each as that entry wrote them.
        let keys = |i: usize| m.keys.get(&i).map(|k| k.join(","));
        assert_eq!(keys(0).as_deref(), Some("service,bridge,ip"));
        assert_eq!(keys(2).as_deref(), Some("service,dev,ip,mtu"));
        assert_eq!(keys(1), None);
        assert_eq!(
            doc["links"],
            json!([
                {"service": "a", "bridge": "s1", "ip": "10.0.0.9/24", "dev": "eth0", "mtu": 1500},
                {"service": "b", "bridge": "s1"}
            ])
        );
    }

    #[test]
    fn three_entries_of_one_link_each_keep_their_own_keys() {
        let mut doc = json!({"links": [
            {"service": "a", "mtu": 1500},
            {"service": "a", "ip": "10.0.0.1/24"},
            {"service": "a", "mac": "02:00:00:00:00:01"}
        ]});
        let m = merge_links(&mut doc);
        assert_eq!(m.groups, [vec![0, 1, 2]]);
        assert_eq!(m.keys[&0], ["service", "mtu"]);
        assert_eq!(m.keys[&1], ["service", "ip"]);
        assert_eq!(m.keys[&2], ["service", "mac"]);
    }

    #[test]
    fn different_dev_or_target_kind_stay_apart() {
        let mut doc = json!({"links": [
            {"service": "a", "bridge": "s1"},
            {"service": "a", "dev": "eth1", "bridge": "s2"},
            {"container": "a", "bridge": "s3"}
        ]});
        assert_eq!(merge_links(&mut doc).groups, [vec![0], vec![1], vec![2]]);
        assert_eq!(doc["links"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn links_without_target_are_not_merged() {
        let mut doc = json!({"links": [{"bridge": "s1"}, {"bridge": "s1"}, 5]});
        assert_eq!(merge_links(&mut doc).groups, [vec![0], vec![1], vec![2]]);
        assert_eq!(doc["links"][2], 5);
    }

    #[test]
    fn no_links_is_fine() {
        let mut doc = json!({});
        assert_eq!(merge_links(&mut doc), LinkMerge::default());
    }
}
