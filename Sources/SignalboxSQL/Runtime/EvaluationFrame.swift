import SignalboxJSON

/// Read access to stored device shadows, for `get_shadow` and `get_thing_shadow`.
public protocol ShadowLookup: Sendable {
    /// The shadow document of `thing` (classic shadow when `shadowName` is nil), or nil if none.
    func shadowDocument(thing: String, shadowName: String?) throws -> Value?
}

/// A ``ShadowLookup`` over a dictionary, for tests and tools.
public struct InMemoryShadowLookup: ShadowLookup {
    /// Documents by thing name, then shadow name ("" for the classic shadow).
    public var documents: [String: [String: Value]]

    public init(documents: [String: [String: Value]] = [:]) { self.documents = documents }

    /// Sets the document of a shadow.
    public mutating func set(thing: String, shadowName: String? = nil, document: Value) {
        documents[thing, default: [:]][shadowName ?? ""] = document
    }

    public func shadowDocument(thing: String, shadowName: String?) throws -> Value? {
        documents[thing]?[shadowName ?? ""]
    }
}

/// What evaluation may call on the outside world. All of it injectable for tests.
public struct EvaluationServices: Sendable {
    /// Shadow documents for `get_shadow`; nil makes `get_shadow` return Undefined.
    public var shadows: (any ShadowLookup)?
    /// The current time in milliseconds since the epoch, for `parse_time` defaults and `now`.
    public var now: @Sendable () -> Int64
    /// A random UUID string (`newuuid()`).
    public var uuid: @Sendable () -> String
    /// A uniform random number in [0, 1) (`rand()`).
    public var random: @Sendable () -> Double

    public init(
        shadows: (any ShadowLookup)? = nil,
        now: @escaping @Sendable () -> Int64 = { SystemClock.milliseconds() },
        uuid: @escaping @Sendable () -> String = { RandomUUID.string() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.shadows = shadows
        self.now = now
        self.uuid = uuid
        self.random = random
    }
}

/// Why evaluating a rule failed at run time (as opposed to yielding Undefined).
public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, without payload values.
    public var message: String
    /// Where in the rule text.
    public var range: SourceRange

    public init(_ message: String, at range: SourceRange) {
        self.message = message
        self.range = range
    }

    public var description: String { message }
}

/// The per-message state of one evaluation: the message, SET variables and the current row.
///
/// A frame is created for one message and one rule, and reused across the rule's clauses. It is
/// not shared between threads.
public final class EvaluationFrame {
    /// The message being evaluated.
    public let message: Message
    /// Services for functions that reach outside (shadows, clock, randomness).
    public let services: EvaluationServices
    /// Values of `SET` variables, by slot (Undefined is nil).
    public var variables: [Value?]
    /// The object that bare attribute names refer to: the payload, or an element inside a nested
    /// query. nil for a binary payload.
    public var row: Value?
    /// The name of the rule being evaluated, if any.
    public var ruleName: String?

    private var cachedTopicLevels: [Substring]?

    public init(message: Message, services: EvaluationServices, variableCount: Int = 0, ruleName: String? = nil) {
        self.message = message
        self.services = services
        self.variables = variableCount == 0 ? [] : Array(repeating: nil, count: variableCount)
        self.row = message.json
        self.ruleName = ruleName
    }

    /// The levels of the message's topic, split once on first use.
    public var topicLevels: [Substring] {
        if let cachedTopicLevels { return cachedTopicLevels }
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        cachedTopicLevels = levels
        return levels
    }
}
