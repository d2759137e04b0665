import SignalboxJSON
import Synchronization

/// The date and time SQL functions `parse_time` and `time_to_epoch`.
///
/// - `parse_time(pattern, millis[, zone])` formats epoch milliseconds with a Joda-Time pattern
///   (``JodaTimeFormat``) in a zone (default `UTC`).
/// - `time_to_epoch(text, pattern)` parses text with a `java.time.format.DateTimeFormatter` pattern
///   (``JavaTimeParser``) into epoch milliseconds; text without a zone is UTC.
///
/// Invalid patterns, unknown zones and text that does not match give Undefined.
enum TimeFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(name: "parse_time", arity: 2...3, body: .general { arguments, _ in parseTime(arguments) }),
        BuiltinFunction(name: "time_to_epoch", arity: 2...2, body: .binary(timeToEpoch)),
    ]

    /// The largest magnitude of epoch milliseconds accepted (about 100 million years).
    static let maxMillis: Int64 = 3_000_000_000_000_000_000

    /// `parse_time(pattern, millis[, zone])`.
    static func parseTime(_ arguments: [Value?]) -> Value? {
        guard arguments.count >= 2, let pattern = Conversions.toString(arguments[0]),
            let millis = Conversions.toInt(arguments[1]), millis.magnitude <= maxMillis.magnitude
        else { return nil }
        var zone = ZoneRules.utc
        if arguments.count > 2 {
            guard let name = Conversions.toString(arguments[2]), let named = ZoneRules.named(name) else { return nil }
            zone = named
        }
        guard let format = JodaTimeFormat.compiled(pattern) else { return nil }
        return .string(format.format(millis: millis, zone: zone))
    }

    /// `time_to_epoch(text, pattern)`.
    @Sendable static func timeToEpoch(_ text: Value?, _ pattern: Value?) -> Value? {
        guard let text = Conversions.toString(text), let pattern = Conversions.toString(pattern),
            let parser = JavaTimeParser.compiled(pattern)
        else { return nil }
        return parser.parse(text).map(Value.int)
    }

    /// English month names, January first.
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]

    /// English day names, Monday first.
    static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
}

/// A compiled cache of patterns, bounded, shared by all rules.
final class PatternCache<Compiled: Sendable>: Sendable {
    private let entries = Mutex<[String: Compiled?]>([:])
    private let compile: @Sendable (String) -> Compiled?

    /// A cache that compiles patterns with `compile`.
    init(compile: @escaping @Sendable (String) -> Compiled?) { self.compile = compile }

    /// The compiled pattern, or nil if `pattern` is invalid (remembered as well).
    func get(_ pattern: String) -> Compiled? {
        if let cached = entries.withLock({ $0[pattern] }) { return cached }
        let compiled = compile(pattern)
        entries.withLock { table in
            if table.count >= 256 { table.removeAll(keepingCapacity: true) }
            table[pattern] = .some(compiled)
        }
        return compiled
    }
}
