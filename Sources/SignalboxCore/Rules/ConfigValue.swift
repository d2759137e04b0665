import SignalboxJSON
import SignalboxSQL

/// A configuration value tree, as written under an action's `with:` key.
///
/// Each node keeps its place in the file, so a handler function that rejects its configuration can
/// point at the offending value. Strings are ``LocatedString``s; a rule set compiles each of them as
/// a substitution template.
///
/// For example:
/// ```swift
/// let with: ConfigValue = ["table": "readings", "columns": ["temp", "battery"]]
/// with["table"]?.string  // "readings"
/// ```
public struct ConfigValue: Sendable {
    /// What a node holds.
    package enum Kind: Sendable {
        /// `null` (or `~`, or nothing).
        case null
        /// `true` or `false`.
        case bool(Bool)
        /// A whole number.
        case int(Int64)
        /// A number with a fraction or exponent.
        case double(Double)
        /// A string, to be compiled as a substitution template.
        case string(LocatedString)
        /// A list.
        case array([ConfigValue])
        /// Entries in file order; keys are unique.
        case map([Entry])
    }

    /// One key and value of a map.
    package struct Entry: Sendable {
        /// The key as written.
        package var key: LocatedString
        /// The value.
        package var value: ConfigValue

        /// An entry.
        package init(key: LocatedString, value: ConfigValue) {
            self.key = key
            self.value = value
        }
    }

    /// The node's content.
    package var kind: Kind
    /// Where the node was written.
    package var span: SourceSpan

    /// A node; `span` defaults to an inline span.
    package init(_ kind: Kind, span: SourceSpan? = nil) {
        self.kind = kind
        if let span {
            self.span = span
        } else if case .string(let string) = kind {
            self.span = string.span
        } else {
            self.span = SourceSpan(inline: "")
        }
    }

    /// An empty map, the default for an action without `with:`.
    public static var emptyMap: ConfigValue { ConfigValue(.map([])) }

    /// The value of `key` when this node is a map.
    public subscript(key: String) -> ConfigValue? {
        guard case .map(let entries) = kind else { return nil }
        return entries.first { $0.key.value == key }?.value
    }

    /// The string, when this node is a string.
    public var string: String? {
        if case .string(let string) = kind { return string.value }
        return nil
    }

    /// The entries, when this node is a map.
    package var entries: [Entry]? {
        if case .map(let entries) = kind { return entries }
        return nil
    }

    /// What kind of value this is, for messages: `a string`, `a mapping`, …
    package var kindDescription: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .map: "a mapping"
        }
    }

    /// The tree as a JSON value, strings taken literally (templates not evaluated).
    public var json: Value {
        switch kind {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s.value)
        case .array(let items): .array(items.map(\.json))
        case .map(let entries):
            .object(JSONObject(entries.map { JSONObject.Member(key: $0.key.value, value: $0.value.json) }))
        }
    }
}

extension ConfigValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// A null node written in code.
    public init(nilLiteral: ()) { self.init(.null) }
    /// A boolean node written in code.
    public init(booleanLiteral value: Bool) { self.init(.bool(value)) }
    /// An integer node written in code.
    public init(integerLiteral value: Int64) { self.init(.int(value)) }
    /// A number node written in code.
    public init(floatLiteral value: Double) { self.init(.double(value)) }
    /// A string node written in code.
    public init(stringLiteral value: String) { self.init(.string(LocatedString(value))) }
    /// A list node written in code.
    public init(arrayLiteral elements: ConfigValue...) { self.init(.array(elements)) }
    /// A map node written in code; keys keep their order.
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self.init(.map(elements.map { Entry(key: LocatedString($0.0), value: $0.1) }))
    }
}
