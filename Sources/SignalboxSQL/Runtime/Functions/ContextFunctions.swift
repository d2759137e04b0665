import SignalboxJSON

/// The SQL functions that read the message's context rather than their arguments: `topic`,
/// `clientid`, `principal`, `traceid`, `sourceip`, `timestamp`, `newuuid`, `rand`, `sql_version`,
/// `accountid`, `get_mqtt_property`, `get_user_properties`, and the shadow readers `get_shadow`
/// (a Signalbox extension) and `get_thing_shadow`.
///
/// All of them are non-deterministic (never folded at compile time) except `sql_version`, whose
/// result is fixed.
enum ContextFunctions {
    /// The SQL version Signalbox implements, as `sql_version()` reports it.
    static let sqlVersion = "2016-03-23"

    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(name: "topic", arity: 0...1, deterministic: false, body: .general { a, f in topic(a, f) }),
        context("clientid") { .string($0.message.clientID ?? "n/a") },
        context("principal") { $0.message.principal.map(Value.string) },
        context("traceid") { $0.message.traceID.map(Value.string) },
        context("sourceip") { $0.message.sourceIP.map(Value.string) },
        context("timestamp") { .int($0.message.timestamp) },
        context("newuuid") { .string($0.services.uuid()) },
        context("rand") { .double($0.services.random()) },
        BuiltinFunction(name: "sql_version", arity: 0...0, body: .general { _, _ in .string(sqlVersion) }),
        context("accountid") { $0.message.accountID.map(Value.string) },
        BuiltinFunction(
            name: "get_mqtt_property", arity: 1...1, deterministic: false,
            body: .general { arguments, frame in
                guard let name = Conversions.toString(arguments.first ?? nil) else { return nil }
                let properties = frame.message.mqttProperties
                return (properties[name] ?? properties[name.lowercased()]).map(Value.string)
            }),
        BuiltinFunction(
            name: "get_user_properties", arity: 0...1, deterministic: false,
            body: .general { arguments, frame in userProperties(arguments, frame) }),
        BuiltinFunction(
            name: "get_shadow", arity: 1...2, deterministic: false,
            body: .general { arguments, frame throws(EvaluationError) in
                try shadow(arguments, namedFrom: 2, frame: frame)
            }),
        BuiltinFunction(
            name: "get_thing_shadow", arity: 2...3, deterministic: false,
            body: .general { arguments, frame throws(EvaluationError) in
                // The role ARN (last argument) is accepted for AWS compatibility and ignored.
                try shadow(arguments, namedFrom: 3, frame: frame)
            }),
    ]

    /// A function of no arguments that reads the frame.
    static func context(_ name: String, _ read: @escaping @Sendable (EvaluationFrame) -> Value?) -> BuiltinFunction {
        BuiltinFunction(name: name, arity: 0...0, deterministic: false, body: .general { _, frame in read(frame) })
    }

    /// `topic()` is the whole topic; `topic(n)` the n-th level, 1-based (Undefined when out of range).
    /// For Basic Ingest topics the `$aws/rules/<rule-name>/` prefix is not part of the topic.
    static func topic(_ arguments: [Value?], _ frame: EvaluationFrame) -> Value? {
        guard let argument = arguments.first else {
            let levels = frame.topicLevels
            let base = basicIngestPrefixLevels(levels)
            if base == 0 { return .string(frame.message.topic) }
            return .string(String(frame.message.topic[levels[base].startIndex...]))
        }
        guard let n = Conversions.toInt(argument) else { return nil }
        return topicLevel(n, frame)
    }

    /// Level `n` (1-based) of the message's topic, without a Basic Ingest prefix; Undefined when out
    /// of range. The compiler calls this directly for `topic(n)` with a constant `n`.
    static func topicLevel(_ n: Int64, _ frame: EvaluationFrame) -> Value? {
        let levels = frame.topicLevels
        let base = basicIngestPrefixLevels(levels)
        guard n >= 1, n <= Int64(levels.count - base) else { return nil }
        return .string(String(levels[base + Int(n) - 1]))
    }

    /// 3 when the topic starts with the Basic Ingest prefix `$aws/rules/<rule-name>/`, else 0.
    static func basicIngestPrefixLevels(_ levels: [Substring]) -> Int {
        levels.count > 3 && levels[0] == "$aws" && levels[1] == "rules" ? 3 : 0
    }

    /// `get_user_properties(key)`: the values of the MQTT 5 user properties named `key`, as an array
    /// (names may repeat), or Undefined if there are none. `get_user_properties()`: every property
    /// as an array of one-member objects, in order, or Undefined if there are none.
    static func userProperties(_ arguments: [Value?], _ frame: EvaluationFrame) -> Value? {
        let properties = frame.message.userProperties
        guard let argument = arguments.first else {
            guard !properties.isEmpty else { return nil }
            return .array(properties.map { .object(JSONObject([.init(key: $0.name, value: .string($0.value))])) })
        }
        guard let key = Conversions.toString(argument) else { return nil }
        let values = properties.lazy.filter { $0.name == key }.map { Value.string($0.value) }
        return values.isEmpty ? nil : .array(Array(values))
    }

    /// Reads the shadow of thing `arguments[0]`, named `arguments[1]` when there are at least
    /// `namedFrom` arguments: Undefined when the names are not strings, when there is no shadow store,
    /// or when the shadow does not exist. A failing store is an evaluation error.
    static func shadow(_ arguments: [Value?], namedFrom: Int, frame: EvaluationFrame) throws(EvaluationError)
        -> Value?
    {
        guard let thingName = Conversions.toString(arguments.first ?? nil), let lookup = frame.services.shadows
        else { return nil }
        var shadowName: String?
        if arguments.count >= namedFrom {
            guard let n = Conversions.toString(arguments[1]) else { return nil }
            shadowName = n
        }
        do {
            return try lookup.shadowDocument(thing: thingName, shadowName: shadowName)
        } catch {
            // The range is the caller's to fill in; no names or payload data in the message.
            throw EvaluationError("reading a shadow for get_shadow failed", at: SourceRange(at: 0))
        }
    }
}
