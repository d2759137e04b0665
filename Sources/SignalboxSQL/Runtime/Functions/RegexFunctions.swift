import SignalboxJSON
import Synchronization

/// The regular-expression SQL functions `regexp_matches`, `regexp_replace` and `regexp_substr`.
///
/// Patterns are compiled with Swift's `Regex` and cached by pattern text, so a constant pattern
/// compiles once. They match Unicode scalars, like Java's `java.util.regex`, with ASCII-only `\d`,
/// `\w`, `\s` and simple word boundaries, as in Java's default mode. An invalid pattern gives
/// Undefined. Replacement strings use Java's syntax: `$1`, `${name}`, and `\` to escape.
enum RegexFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(
            name: "regexp_matches", arity: 2...2,
            body: .binary { value, pattern in
                guard let s = Conversions.toString(value), let regex = RegexCache.shared.regex(pattern) else {
                    return nil
                }
                return .bool(s.contains(regex))
            }),
        BuiltinFunction(
            name: "regexp_substr", arity: 2...2,
            body: .binary { value, pattern in
                guard let s = Conversions.toString(value), let regex = RegexCache.shared.regex(pattern),
                    let match = s.firstMatch(of: regex)
                else { return nil }
                return .string(String(s[match.range]))
            }),
        BuiltinFunction(name: "regexp_replace", arity: 3...3, body: .ternary(replace)),
    ]

    /// `regexp_replace(s, pattern, replacement)`: every match of `pattern` in `s` replaced by
    /// `replacement`, in which `$n` and `${name}` insert capture groups (an unmatched group inserts
    /// nothing) and `\x` inserts `x`. A malformed replacement or a reference to a group the
    /// pattern does not have gives Undefined.
    @Sendable static func replace(_ value: Value?, _ pattern: Value?, _ replacement: Value?) -> Value? {
        guard let s = Conversions.toString(value), let regex = RegexCache.shared.regex(pattern),
            let template = Conversions.toString(replacement)
        else { return nil }
        var out = ""
        var copied = s.startIndex
        var parts: [ReplacementPart]?
        for match in s.matches(of: regex) {
            if parts == nil {
                guard let parsed = parseReplacement(template, groupCount: match.output.count - 1) else { return nil }
                parts = parsed
            }
            out += s[copied..<match.range.lowerBound]
            for part in parts ?? [] {
                switch part {
                case .literal(let text): out += text
                case .group(let number):
                    if let text = match.output[number].substring { out += text }
                case .named(let name):
                    guard let group = match.output[name] else { return nil }
                    if let text = group.substring { out += text }
                }
            }
            copied = match.range.upperBound
        }
        guard parts != nil else { return .string(s) }
        out += s[copied...]
        return .string(out)
    }

    /// One piece of a parsed replacement string.
    enum ReplacementPart: Equatable {
        /// Text copied as it is.
        case literal(String)
        /// `$n`: the text of group n.
        case group(Int)
        /// `${name}`: the text of a named group.
        case named(String)
    }

    /// Parses a Java replacement string for a pattern with `groupCount` groups, or nil if it is
    /// malformed. As in Java, `$12` means group 12 only if there are at least 12 groups, and
    /// otherwise group 1 followed by the text "2".
    static func parseReplacement(_ template: String, groupCount: Int) -> [ReplacementPart]? {
        var parts: [ReplacementPart] = []
        var literal = ""
        var scalars = Array(template.unicodeScalars)[...]
        func flush() {
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = ""
            }
        }
        while let scalar = scalars.popFirst() {
            switch scalar {
            case "\\":
                guard let escaped = scalars.popFirst() else { return nil }
                literal.unicodeScalars.append(escaped)
            case "$":
                guard let next = scalars.first else { return nil }
                if next == "{" {
                    scalars.removeFirst()
                    var name = ""
                    var closed = false
                    while let c = scalars.popFirst() {
                        if c == "}" {
                            closed = true
                            break
                        }
                        guard isASCIILetter(c) || isASCIIDigit(c) else { return nil }
                        name.unicodeScalars.append(c)
                    }
                    guard closed, let first = name.unicodeScalars.first, isASCIILetter(first) else { return nil }
                    flush()
                    parts.append(.named(name))
                } else {
                    guard isASCIIDigit(next), Int(next.value - 48) <= groupCount else { return nil }
                    scalars.removeFirst()
                    var number = Int(next.value - 48)
                    while let c = scalars.first, isASCIIDigit(c), number * 10 + Int(c.value - 48) <= groupCount {
                        number = number * 10 + Int(c.value - 48)
                        scalars.removeFirst()
                    }
                    flush()
                    parts.append(.group(number))
                }
            default:
                literal.unicodeScalars.append(scalar)
            }
        }
        flush()
        return parts
    }

    private static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value &- 48 < 10 }

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { (c.value | 0x20) &- 97 < 26 }
}

/// A compiled pattern that may be shared between threads.
///
/// `@unchecked Sendable`: a `Regex` is an immutable value whose compiled program is created once,
/// atomically, by the standard library; the cache forces that compilation before sharing it.
struct SharedRegex: @unchecked Sendable {
    /// The compiled pattern.
    let regex: Regex<AnyRegexOutput>
}

/// Compiled patterns by pattern text, shared by all rules; invalid patterns are remembered too.
final class RegexCache: Sendable {
    /// The cache the regex functions use.
    static let shared = RegexCache(limit: 512)

    private let entries: Mutex<[String: SharedRegex?]>
    private let limit: Int

    /// A cache holding at most `limit` patterns (it is emptied when full).
    init(limit: Int) {
        self.entries = Mutex([:])
        self.limit = limit
    }

    /// The compiled pattern for a pattern argument (converted To String), or nil if it is not a
    /// valid regular expression.
    func regex(_ pattern: Value?) -> Regex<AnyRegexOutput>? {
        guard let text = Conversions.toString(pattern) else { return nil }
        return regex(text)
    }

    /// The compiled pattern for `pattern`, or nil if it is not a valid regular expression.
    func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        if let cached = entries.withLock({ $0[pattern] }) { return cached?.regex }
        let compiled = Self.compile(pattern)
        entries.withLock { table in
            if table.count >= limit { table.removeAll(keepingCapacity: true) }
            table[pattern] = .some(compiled)
        }
        return compiled?.regex
    }

    private static func compile(_ pattern: String) -> SharedRegex? {
        guard
            let regex = try? Regex(pattern)
                .matchingSemantics(.unicodeScalar)
                .asciiOnlyCharacterClasses()
                .wordBoundaryKind(RegexWordBoundaryKind.simple)
        else { return nil }
        _ = "".firstMatch(of: regex)  // compiles the matching program now, before the value is shared
        return SharedRegex(regex: regex)
    }
}
