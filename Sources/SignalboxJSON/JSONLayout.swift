/// A validated JSON document and where its top-level members are, found without building values.
///
/// Rules usually read a few attributes of a payload. Validating a payload and recording where each
/// top-level member's key and value lie costs a fraction of decoding it; a member's value is then
/// decoded only when a rule reads it (``JSONParser/parse(buffer:options:)`` on its byte range).
///
/// For example:
/// ```swift
/// let bytes = Array(#"{"temp": 21.5, "door": "open"}"#.utf8)
/// let layout = JSONLayout(validating: bytes)      // nil if the bytes are not one JSON document
/// layout?.members.count                          // 2
/// ```
public struct JSONLayout: Sendable, Hashable {
    /// Where one top-level member stands, in bytes of the document.
    public struct Member: Sendable, Hashable {
        /// The key's bytes, between the quotes, still escaped.
        public var keyStart: Int32
        public var keyEnd: Int32
        /// The value's bytes.
        public var valueStart: Int32
        public var valueEnd: Int32
        /// Whether the key contains an escape (its bytes are not its text).
        public var keyHasEscapes: Bool
    }

    /// Whether the document is an object (otherwise ``members`` is empty).
    public let isObject: Bool
    /// The top-level members in document order (a repeated key appears each time).
    public let members: [Member]

    /// Validates `bytes` as one JSON document (as strictly as ``JSONParser``) and records its
    /// top-level members; nil when the bytes are not a JSON document.
    public init?(validating bytes: [UInt8], options: JSONParser.Options = JSONParser.Options()) {
        guard let layout = bytes.withUnsafeBufferPointer({ Self.scan($0, options: options) }) else { return nil }
        self = layout
    }

    /// Decodes the value of top-level member `index` of the document `bytes` this layout was
    /// made from (nil only if `bytes` is not that document).
    @inline(__always)
    public func value(ofMember index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        Self.value(of: members[index], in: bytes)
    }

    /// Decodes the value of `member` of the document `bytes`.
    @inline(__always)
    public static func value(of member: Member, in bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        var reader = JSONParser.Reader(
            buffer: UnsafeBufferPointer(rebasing: bytes[..<Int(member.valueEnd)]), maxDepth: Int.max)
        reader.position = Int(member.valueStart)
        return try? reader.parseValue(depth: 1)
    }

    init(isObject: Bool, members: [Member]) {
        self.isObject = isObject
        self.members = members
    }

    /// Validates and indexes a buffer; nil when it is not one JSON document.
    public static func scan(_ buffer: UnsafeBufferPointer<UInt8>, options: JSONParser.Options = JSONParser.Options())
        -> JSONLayout?
    {
        guard buffer.count < Int(Int32.max) else { return nil }
        var reader = JSONParser.Reader(buffer: buffer, maxDepth: options.maxDepth)
        do throws(JSONError) {
            reader.skipWhitespace()
            var layout = JSONLayout(isObject: false, members: [])
            if reader.position < buffer.count && buffer[reader.position] == UInt8(ascii: "{") {
                layout = JSONLayout(isObject: true, members: try reader.scanTopLevelObject())
            } else {
                try reader.skipValue(depth: 0)
            }
            reader.skipWhitespace()
            guard reader.position == buffer.count else { return nil }
            return layout
        } catch {
            return nil
        }
    }
}

extension JSONParser.Reader {
    /// Records the members of the object at `position` (depth 1), validating every value.
    mutating func scanTopLevelObject() throws(JSONError) -> [JSONLayout.Member] {
        if 1 > maxDepth { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
        position += 1  // '{'
        var members: [JSONLayout.Member] = []
        members.reserveCapacity(16)
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return members
        }
        while true {
            try expectKey()
            let keyStart = position + 1
            let hasEscapes = try skipString()
            let keyEnd = position - 1
            try expectColon()
            let valueStart = position
            try skipValue(depth: 1)
            members.append(
                JSONLayout.Member(
                    keyStart: Int32(keyStart), keyEnd: Int32(keyEnd), valueStart: Int32(valueStart),
                    valueEnd: Int32(position), keyHasEscapes: hasEscapes))
            if try endOfMember(closing: UInt8(ascii: "}")) { return members }
        }
    }

    /// Validates one value without building it.
    mutating func skipValue(depth: Int) throws(JSONError) {
        guard position < bytes.count else { throw error(.unexpectedEnd, "unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"), UInt8(ascii: "["): try skipContainer(depth: depth + 1)
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw error(.unexpectedCharacter, describeUnexpected() + ", expected a value")
        }
    }

    /// Validates a number without converting it. Plain integers and decimals of up to 18
    /// characters are checked here; anything else (exponents, long numbers, errors) goes through
    /// ``parseNumber()`` so the rules, range checks and error messages stay the same.
    @inline(__always)
    mutating func skipNumber() throws(JSONError) {
        let start = position
        var i = position
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        var plain = i < bytes.count && bytes[i] &- UInt8(ascii: "1") < 9
        if plain {
            i += 1
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        } else if i < bytes.count && bytes[i] == UInt8(ascii: "0") {
            i += 1
            plain = !(i < bytes.count && bytes[i] &- UInt8(ascii: "0") < 10)
        }
        if plain && i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            plain = i < bytes.count && bytes[i] &- UInt8(ascii: "0") < 10
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        }
        if plain && i < bytes.count && bytes[i] | 0x20 == UInt8(ascii: "e") { plain = false }
        if plain && i - start <= 18 {
            position = i
        } else {
            position = start
            _ = try parseNumber()
        }
    }

    /// Validates an object or array without building it.
    mutating func skipContainer(depth: Int) throws(JSONError) {
        if depth > maxDepth { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
        let isObject = bytes[position] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        position += 1
        skipWhitespace()
        if position < bytes.count && bytes[position] == close {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            if isObject {
                try expectKey()
                _ = try skipString()
                try expectColon()
            }
            try skipValue(depth: depth)
            if try endOfMember(closing: close) { return }
        }
    }

    /// Validates a string starting at its opening quote without building it; returns whether it
    /// has escapes.
    mutating func skipString() throws(JSONError) -> Bool {
        position += 1  // opening quote
        let start = position
        while true {
            // Eight bytes at a time: jump straight to the first byte that needs a look.
            while position &+ 8 <= bytes.count {
                let mask = Self.attentionMask(Self.word(bytes, at: position))
                if mask == 0 {
                    position &+= 8
                } else {
                    position &+= mask.trailingZeroBitCount >> 3
                    break
                }
            }
            guard position < bytes.count else { break }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return false
            } else if byte == UInt8(ascii: "\\") {
                _ = try parseEscapedString(start: start)
                return true
            } else if byte < 0x20 {
                throw error(.controlCharacterInString, "control character in string; it must be escaped")
            } else if byte < 0x80 {
                position += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw error(.unexpectedEnd, "unterminated string", at: start - 1)
    }
}
