import SignalboxJSON

/// The string SQL functions: `chr`, `startswith`, `endswith`, `indexof`, `length`, `numbytes`,
/// `lower`, `upper`, `lpad`, `rpad`, `ltrim`, `rtrim`, `trim`, `replace` and `substring`.
///
/// Non-string arguments go through the "To String" conversion (numbers and Booleans in JSON form,
/// arrays and objects as compact JSON); Null and Undefined have no string form, so the result is
/// Undefined. A "character" is a Unicode scalar; AWS, running on the JVM, counts UTF-16 code units,
/// which differs only for characters outside the Basic Multilingual Plane (emoji).
enum StringFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(name: "chr", arity: 1...1, body: .unary(chr)),
        BuiltinFunction(
            name: "startswith", arity: 2...2,
            body: .binary { lhs, rhs in
                guard let s = Conversions.toString(lhs), let prefix = Conversions.toString(rhs) else { return nil }
                return .bool(s.utf8.starts(with: prefix.utf8))
            }),
        BuiltinFunction(
            name: "endswith", arity: 2...2,
            body: .binary { lhs, rhs in
                guard let s = Conversions.toString(lhs), let suffix = Conversions.toString(rhs) else { return nil }
                return .bool(s.utf8.reversed().starts(with: suffix.utf8.reversed()))
            }),
        BuiltinFunction(name: "indexof", arity: 2...2, body: .binary(indexOf)),
        BuiltinFunction(
            name: "length", arity: 1...1,
            body: .unary { value in
                Conversions.toString(value).map { .int(Int64(FunctionSupport.characterCount($0))) }
            }),
        BuiltinFunction(
            name: "numbytes", arity: 1...1,
            body: .unary { value in Conversions.toString(value).map { .int(Int64($0.utf8.count)) } }),
        BuiltinFunction(
            name: "lower", arity: 1...1,
            body: .unary { value in Conversions.toString(value).map { .string($0.lowercased()) } }),
        BuiltinFunction(
            name: "upper", arity: 1...1,
            body: .unary { value in Conversions.toString(value).map { .string($0.uppercased()) } }),
        BuiltinFunction(name: "lpad", arity: 2...2, body: .binary { pad($0, $1, left: true) }),
        BuiltinFunction(name: "rpad", arity: 2...2, body: .binary { pad($0, $1, left: false) }),
        BuiltinFunction(name: "ltrim", arity: 1...1, body: .unary { trim($0, leading: true, trailing: false) }),
        BuiltinFunction(name: "rtrim", arity: 1...1, body: .unary { trim($0, leading: false, trailing: true) }),
        BuiltinFunction(name: "trim", arity: 1...1, body: .unary { trim($0, leading: true, trailing: true) }),
        BuiltinFunction(name: "replace", arity: 3...3, body: .ternary(replace)),
        BuiltinFunction(name: "substring", arity: 2...3, body: .general { arguments, _ in substring(arguments) }),
    ]

    /// `chr(n)`: the ASCII character with code `n` (0…127); a Decimal or numeric String is rounded
    /// down first. Anything else is Undefined.
    @Sendable static func chr(_ value: Value?) -> Value? {
        guard let code = FunctionSupport.flooredInt(value), (0...127).contains(code),
            let scalar = Unicode.Scalar(UInt32(code))
        else { return nil }
        return .string(String(Character(scalar)))
    }

    /// `indexof(s, search)`: the 0-based character index of the first occurrence of `search` in `s`,
    /// or -1 when there is none.
    @Sendable static func indexOf(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let s = Conversions.toString(lhs), let search = Conversions.toString(rhs) else { return nil }
        guard let offset = byteOffset(of: search, in: s, from: 0) else { return .int(-1) }
        var characters = 0
        var position = 0
        for byte in s.utf8 {
            if position == offset { break }
            if byte & 0xC0 != 0x80 { characters += 1 }
            position += 1
        }
        return .int(Int64(characters))
    }

    /// The UTF-8 offset of the first occurrence of `needle` in `haystack` at or after `start`.
    static func byteOffset(of needle: String, in haystack: String, from start: Int) -> Int? {
        let h = haystack.utf8
        let n = needle.utf8
        let count = h.count
        let needleCount = n.count
        guard needleCount > 0 else { return start <= count ? start : nil }
        guard count - start >= needleCount, let first = n.first else { return nil }
        var i = h.index(h.startIndex, offsetBy: start)
        var offset = start
        let lastStart = count - needleCount
        while offset <= lastStart {
            if h[i] == first && h[i...].starts(with: n) { return offset }
            h.formIndex(after: &i)
            offset += 1
        }
        return nil
    }

    /// `lpad`/`rpad`: `value` as a String with `count` spaces added (a Decimal or numeric String count
    /// is rounded down; the count is clamped to 0…1000).
    static func pad(_ value: Value?, _ count: Value?, left: Bool) -> Value? {
        guard let n = FunctionSupport.clampedFlooredInt(count), let s = Conversions.toString(value) else { return nil }
        let spaces = min(max(n, 0), 1000)
        if spaces == 0 { return .string(s) }
        let padding = String(repeating: " ", count: spaces)
        return .string(left ? padding + s : s + padding)
    }

    /// Whether `byte` is ASCII white space (space, tab, line feed, vertical tab, form feed, return).
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    /// `ltrim`, `rtrim`, `trim`: the String form of `value` without leading and/or trailing white space.
    static func trim(_ value: Value?, leading: Bool, trailing: Bool) -> Value? {
        guard let s = Conversions.toString(value) else { return nil }
        let utf8 = s.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        if leading {
            while start < end && isWhitespace(utf8[start]) { utf8.formIndex(after: &start) }
        }
        if trailing {
            while end > start {
                let before = utf8.index(before: end)
                guard isWhitespace(utf8[before]) else { break }
                end = before
            }
        }
        if start == utf8.startIndex && end == utf8.endIndex { return .string(s) }
        return .string(String(Substring(utf8[start..<end])))
    }

    /// `replace(s, search, replacement)`: every occurrence of `search` replaced, literally. An empty
    /// `search` inserts the replacement before every character and at the end (as Java does).
    @Sendable static func replace(_ value: Value?, _ search: Value?, _ replacement: Value?) -> Value? {
        guard let s = Conversions.toString(value), let target = Conversions.toString(search),
            let with = Conversions.toString(replacement)
        else { return nil }
        if target.isEmpty {
            var out = with
            for scalar in s.unicodeScalars {
                out.unicodeScalars.append(scalar)
                out += with
            }
            return .string(out)
        }
        guard var match = byteOffset(of: target, in: s, from: 0) else { return .string(s) }
        let source = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var copied = 0
        let targetCount = target.utf8.count
        while true {
            out.append(contentsOf: source[copied..<match])
            out.append(contentsOf: with.utf8)
            copied = match + targetCount
            guard let next = byteOffset(of: target, in: s, from: copied) else { break }
            match = next
        }
        out.append(contentsOf: source[copied...])
        return .string(String(decoding: out, as: UTF8.self))
    }

    /// `substring(s, start[, end])`: characters from `start` (inclusive) to `end` (exclusive, default
    /// the end), 0-based. Decimal or numeric-String indices are rounded down; indices are clamped to
    /// 0…length; `start >= end` gives "".
    static func substring(_ arguments: [Value?]) -> Value? {
        guard arguments.count >= 2, let s = Conversions.toString(arguments[0]),
            var start = FunctionSupport.clampedFlooredInt(arguments[1])
        else { return nil }
        let length = FunctionSupport.characterCount(s)
        var end = length
        if arguments.count >= 3 {
            guard let e = FunctionSupport.clampedFlooredInt(arguments[2]) else { return nil }
            end = e
        }
        start = min(max(start, 0), length)
        end = min(max(end, 0), length)
        if start == 0 && end == length { return .string(s) }
        return .string(FunctionSupport.scalarSlice(s, from: start, to: end))
    }
}
