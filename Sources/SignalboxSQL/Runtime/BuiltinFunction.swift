import SignalboxJSON

/// A SQL function usable in rule expressions (`abs`, `topic`, `get_shadow`, …).
///
/// Not to be confused with *handler functions*, which are the actions a rule runs.
/// Arguments and the result are `Value?`, where `nil` is the language's Undefined.
package struct BuiltinFunction: Sendable {
    /// How the function is computed.
    package enum Body: Sendable {
        /// A pure function of one argument.
        case unary(@Sendable (Value?) -> Value?)
        /// A pure function of two arguments.
        case binary(@Sendable (Value?, Value?) -> Value?)
        /// A pure function of three arguments.
        case ternary(@Sendable (Value?, Value?, Value?) -> Value?)
        /// Any number of arguments and the evaluation frame (message, services).
        case general(@Sendable ([Value?], EvaluationFrame) throws -> Value?)
    }

    /// The name as documented (matched case-insensitively).
    package var name: String
    /// The fewest arguments accepted.
    package var minArity: Int
    /// The most arguments accepted; nil for no limit.
    package var maxArity: Int?
    /// Whether the result depends only on the arguments, so calls with constant arguments are
    /// folded when a rule is compiled. `unary`/`binary`/`ternary` bodies should be deterministic.
    package var isDeterministic: Bool
    package var body: Body

    package init(name: String, arity: ClosedRange<Int>, deterministic: Bool = true, body: Body) {
        self.name = name
        self.minArity = arity.lowerBound
        self.maxArity = arity.upperBound
        self.isDeterministic = deterministic
        self.body = body
    }

    package init(name: String, minArity: Int, deterministic: Bool = true, body: Body) {
        self.name = name
        self.minArity = minArity
        self.maxArity = nil
        self.isDeterministic = deterministic
        self.body = body
    }

    /// A human description of the accepted argument count ("2 arguments", "1 to 3 arguments").
    package var arityDescription: String {
        func plural(_ n: Int) -> String { n == 1 ? "1 argument" : "\(n) arguments" }
        guard let maxArity else { return "at least " + plural(minArity) }
        if maxArity == minArity { return plural(minArity) }
        return "\(minArity) to \(plural(maxArity))"
    }
}
