//! Deep merge of config documents (SPEC §4): maps merge recursively, lists
//! concatenate, anything else is replaced by the later value.

use serde_json::Value;

/// Merges `later` into `base`.
pub fn deep_merge(base: &mut Value, later: Value) {
    match (base, later) {
        (Value::Object(b), Value::Object(l)) => {
            for (k, v) in l {
                match b.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(l)) => b.extend(l),
        // An empty `x-network:` or `links:` must not wipe earlier content.
        (_, Value::Null) => {}
        (b, l) => *b = l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(a: Value, b: Value) -> Value {
        let mut a = a;
        deep_merge(&mut a, b);
        a
    }

    #[test]
    fn maps_merge_recursively() {
        assert_eq!(
            merged(json!({"a": {"x": 1, "y": 2}}), json!({"a": {"y": 3, "z": 4}})),
            json!({"a": {"x": 1, "y": 3, "z": 4}})
        );
    }

    #[test]
    fn lists_concatenate_in_order() {
        assert_eq!(merged(json!({"links": [1, 2]}), json!({"links": [3]})), json!({"links": [1, 2, 3]}));
    }

    #[test]
    fn later_scalar_wins() {
        assert_eq!(merged(json!({"m": "ovs"}), json!({"m": "linux"})), json!({"m": "linux"}));
        assert_eq!(merged(json!({"m": [1]}), json!({"m": "s"})), json!({"m": "s"}));
        assert_eq!(merged(json!({"m": {"a": 1}}), json!({"m": 5})), json!({"m": 5}));
    }

    #[test]
    fn null_keeps_earlier_value() {
        assert_eq!(merged(json!({"links": [1]}), json!({"links": null})), json!({"links": [1]}));
        assert_eq!(merged(json!({"a": 1}), Value::Null), json!({"a": 1}));
        assert_eq!(merged(Value::Null, json!({"a": 1})), json!({"a": 1}));
    }

    #[test]
    fn new_keys_keep_insertion_order() {
        let m = merged(json!({"b": 1}), json!({"a": 2}));
        let keys: Vec<_> = m.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["b", "a"]);
    }
}
