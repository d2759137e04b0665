import SignalboxJSON

extension RuleDefinition {
    /// Everything that decides what the rule does, as canonical text: whether it is enabled, its
    /// SQL, and each action and the error action (function, `with:` after `${env:…}` substitution,
    /// retry, timeout, throttle).
    ///
    /// Two definitions with the same name and the same behaviour are the same rule: a reload keeps
    /// such a rule's counters. Its description, comments, spacing outside the SQL and its place in
    /// the file do not count; any change to the SQL text does, even spacing.
    package var behaviour: String {
        var object = JSONObject(minimumCapacity: 4)
        object.appendUnique(key: "enabled", value: .bool(enabled))
        object.appendUnique(key: "sql", value: .string(sql.value))
        object.appendUnique(key: "actions", value: .array(actions.map(\.behaviour)))
        object.appendUnique(key: "error_action", value: errorAction?.behaviour ?? .null)
        return JSONSerializer.string(.object(object))
    }
}

extension ActionDefinition {
    /// The action as a value that compares equal exactly when the action does the same.
    var behaviour: Value {
        func duration(_ duration: Duration) -> Value {
            let (seconds, attoseconds) = duration.components
            return .string("\(seconds)s+\(attoseconds)as")
        }
        var object = JSONObject(minimumCapacity: 5)
        object.appendUnique(key: "function", value: .string(function.value))
        object.appendUnique(key: "with", value: with.json)
        object.appendUnique(
            key: "retry",
            value: [
                "attempts": .int(Int64(retry.attempts)), "min": duration(retry.backoff.lowerBound),
                "max": duration(retry.backoff.upperBound),
            ])
        object.appendUnique(key: "timeout", value: duration(timeout))
        object.appendUnique(
            key: "throttle",
            value: throttle.map { ["key": $0.key.map { .string($0.value) } ?? .null, "per": duration($0.per)] } ?? .null
        )
        return .object(object)
    }
}
