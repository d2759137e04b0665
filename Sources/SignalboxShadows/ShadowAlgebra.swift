import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// The shadow document algebra: deep merge with `null` deletion, per-leaf metadata, delta, and the
/// type-sensitive equality the delta uses. Pure functions over ``Value``.
package enum ShadowAlgebra {
    /// Shadow equality: type-sensitive (`true` ≠ `1`, `"1"` ≠ `1`), numbers compared by exact value
    /// (`1` = `1.0`, as JSON numbers carry no type), objects regardless of member order, arrays
    /// element by element — the rule language's `=` on defined values.
    package static func equal(_ lhs: Value, _ rhs: Value) -> Bool {
        Operators.equals(lhs, rhs)
    }

    /// The metadata of a value written at `timestamp`: `{"timestamp": t}` for a leaf, an object of
    /// metadata for an object, an array of per-element metadata for an array.
    package static func metadata(for value: Value, at timestamp: Int64) -> Value {
        switch value {
        case .object(let object):
            var result = JSONObject(minimumCapacity: object.count)
            for member in object {
                result.appendUnique(key: member.key, value: Self.metadata(for: member.value, at: timestamp))
            }
            return .object(result)
        case .array(let elements):
            return .array(elements.map { metadata(for: $0, at: timestamp) })
        default:
            return ["timestamp": .int(timestamp)]
        }
    }

    /// Merges `update` into `target`, re-stamping in `metadata` exactly the leaves the update writes.
    ///
    /// `null` deletes a member (and its metadata); an object merges into an existing object member by
    /// member; anything else, arrays included, replaces the member whole. An object left empty by
    /// deletions is removed from its parent; an empty object written explicitly is kept.
    package static func merge(
        _ update: JSONObject, into target: inout JSONObject, metadata: inout JSONObject, at timestamp: Int64
    ) {
        for member in update {
            switch member.value {
            case .null:
                target[member.key] = nil
                metadata[member.key] = nil
            case .object(let updateObject):
                if case .object(var existing)? = target[member.key] {
                    var existingMetadata = JSONObject()
                    if case .object(let m)? = metadata[member.key] { existingMetadata = m }
                    let hadMembers = !existing.isEmpty
                    merge(updateObject, into: &existing, metadata: &existingMetadata, at: timestamp)
                    if existing.isEmpty && hadMembers {
                        target[member.key] = nil
                        metadata[member.key] = nil
                    } else {
                        target[member.key] = .object(existing)
                        metadata[member.key] = .object(existingMetadata)
                    }
                } else {
                    let written = removingNulls(updateObject)
                    // Only deletions of members that do not exist: nothing to write.
                    if written.isEmpty && !updateObject.isEmpty { continue }
                    target[member.key] = .object(written)
                    metadata[member.key] = Self.metadata(for: .object(written), at: timestamp)
                }
            default:
                target[member.key] = member.value
                metadata[member.key] = Self.metadata(for: member.value, at: timestamp)
            }
        }
    }

    /// `object` with `null` members removed at every object level (a `null` deleting a member that
    /// does not exist is a no-op). Nulls inside arrays are values and stay.
    static func removingNulls(_ object: JSONObject) -> JSONObject {
        var result = JSONObject(minimumCapacity: object.count)
        for member in object {
            switch member.value {
            case .null: continue
            case .object(let inner):
                let written = removingNulls(inner)
                // An object of nothing but nulls deletes nothing and creates nothing.
                if written.isEmpty && !inner.isEmpty { continue }
                result.appendUnique(key: member.key, value: .object(written))
            default: result.appendUnique(key: member.key, value: member.value)
            }
        }
        return result
    }

    /// Every member of `desired` that `reported` lacks or holds a different value for; objects are
    /// compared member by member, anything else whole.
    package static func delta(desired: JSONObject, reported: JSONObject?) -> JSONObject {
        var delta = JSONObject()
        for member in desired {
            guard let reportedValue = reported?[member.key] else {
                delta.appendUnique(key: member.key, value: member.value)
                continue
            }
            if case .object(let desiredObject) = member.value, case .object(let reportedObject) = reportedValue {
                let inner = Self.delta(desired: desiredObject, reported: reportedObject)
                if !inner.isEmpty { delta.appendUnique(key: member.key, value: .object(inner)) }
            } else if !equal(member.value, reportedValue) {
                delta.appendUnique(key: member.key, value: member.value)
            }
        }
        return delta
    }

    /// The metadata of `delta`'s members, taken from the desired section's metadata.
    package static func deltaMetadata(_ delta: JSONObject, desiredMetadata: JSONObject?) -> JSONObject {
        var result = JSONObject(minimumCapacity: delta.count)
        for member in delta {
            guard let metadata = desiredMetadata?[member.key] else { continue }
            if case .object(let inner) = member.value, case .object(let innerMetadata) = metadata {
                result.appendUnique(
                    key: member.key, value: .object(deltaMetadata(inner, desiredMetadata: innerMetadata)))
            } else {
                result.appendUnique(key: member.key, value: metadata)
            }
        }
        return result
    }

    /// Nesting depth of objects and arrays in `value`: 0 for a scalar, 1 for `{"a": 1}`.
    package static func depth(_ value: Value) -> Int {
        switch value {
        case .object(let object): return 1 + (object.members.map { depth($0.value) }.max() ?? 0)
        case .array(let elements): return 1 + (elements.map { depth($0) }.max() ?? 0)
        default: return 0
        }
    }

    /// Whether an array anywhere in `value` holds a `null` (AWS rejects such documents).
    package static func containsNullInArray(_ value: Value) -> Bool {
        switch value {
        case .object(let object): return object.members.contains { containsNullInArray($0.value) }
        case .array(let elements): return elements.contains { $0 == .null || containsNullInArray($0) }
        default: return false
        }
    }

    /// Bytes of `value` as compact JSON.
    package static func compactSize(_ value: Value) -> Int {
        JSONSerializer.bytes(value).count
    }
}
