/// A fast, strict JSON parser (RFC 8259) into ``Value``.
///
/// - Integers that fit in `Int64` stay integers; any number with a fraction or exponent, or too
///   large for `Int64`, becomes a `Double`. A number beyond `Double`'s range is an error, never
///   infinity (which has no JSON form).
/// - Strings are validated as UTF-8 (an error points at the first byte of the ill-formed
///   sequence); every escape, including surrogate pairs, is decoded; a lone surrogate escape is an
///   error.
/// - Nesting deeper than ``Options/maxDepth`` is an error, never a stack overflow.
///
/// For example:
/// ```swift
/// let value = try JSONParser.parse(#"{"temp": 21}"#)
/// ```
public enum JSONParser {
    /// Parsing limits.
    public struct Options: Sendable {
        /// The deepest nesting of arrays and objects accepted.
        public var maxDepth: Int

        public init(maxDepth: Int = 128) {
            self.maxDepth = maxDepth
        }
    }

    /// Parses a complete JSON document from UTF-8 bytes.
    public static func parse<Bytes: Collection<UInt8>>(
        _ bytes: Bytes, options: Options = Options()
    ) throws(JSONError) -> Value {
        let result: Result<Value, JSONError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Self.parse(buffer: buffer, options: options)
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { Self.parse(buffer: $0, options: options) }.get()
    }

    /// Parses a complete JSON document from a string.
    public static func parse(_ text: String, options: Options = Options()) throws(JSONError) -> Value {
        var text = text
        return try text.withUTF8 { Self.parse(buffer: $0, options: options) }.get()
    }

    /// Parses a complete JSON document from a buffer of UTF-8 bytes.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>, options: Options = Options()) -> Result<
        Value, JSONError
    > {
        var reader = Reader(buffer: buffer, maxDepth: options.maxDepth)
        do throws(JSONError) {
            reader.skipWhitespace()
            let value = try reader.parseValue(depth: 0)
            reader.skipWhitespace()
            if reader.position != buffer.count {
                throw reader.error(.trailingData, "unexpected data after the JSON value")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }
}

extension JSONParser {
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var position = 0
        var scratch: [UInt8] = []
        /// A 7-bit hash of the decoded bytes of the last string parsed, for spotting keys that
        /// cannot be duplicates without comparing strings.
        var stringHash = 0
        /// Whether the last string parsed was ASCII. Only for ASCII keys are equal bytes the same
        /// as equal `String`s (which compare by canonical equivalence: "K" == "\u{212A}").
        var stringIsASCII = true

        init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = buffer
            self.maxDepth = maxDepth
        }

        func error(_ code: JSONError.Code, _ message: String, at offset: Int? = nil) -> JSONError {
            let offset = min(offset ?? position, bytes.count)
            var line = 1
            var lineStart = 0
            for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            return JSONError(code: code, offset: offset, line: line, column: offset - lineStart + 1, message: message)
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        func describeUnexpected() -> String {
            guard position < bytes.count else { return "unexpected end of input" }
            let byte = bytes[position]
            if byte >= 0x21 && byte < 0x7F {
                return "unexpected character '\(Character(Unicode.Scalar(byte)))'"
            }
            return "unexpected byte 0x\(String(byte, radix: 16, uppercase: true))"
        }

        mutating func parseValue(depth: Int) throws(JSONError) -> Value {
            guard position < bytes.count else {
                throw error(.unexpectedEnd, "unexpected end of input, expected a value")
            }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try parseNumber()
            default:
                throw error(.unexpectedCharacter, describeUnexpected() + ", expected a value")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else {
                throw error(.unexpectedEnd, "unexpected end of input in literal")
            }
            let start = literal.utf8Start
            for i in 0..<count where bytes[position + i] != start[i] {
                throw error(.unexpectedCharacter, "invalid literal", at: position + i)
            }
            position += count
        }

        /// Skips whitespace inside an object and checks that `byte` comes next (`expected` names it).
        @inline(__always)
        mutating func expect(_ byte: UInt8, _ expected: StaticString) throws(JSONError) {
            skipWhitespace()
            guard position < bytes.count else { throw error(.unexpectedEnd, "unexpected end of input in object") }
            guard bytes[position] == byte else {
                throw error(.unexpectedCharacter, describeUnexpected() + ", expected \(expected)")
            }
        }

        /// Checks that a member's key starts here (skipping whitespace before it).
        @inline(__always)
        mutating func expectKey() throws(JSONError) {
            try expect(UInt8(ascii: "\""), "a string key")
        }

        /// Reads the `:` after a key, with the whitespace around it.
        @inline(__always)
        mutating func expectColon() throws(JSONError) {
            try expect(UInt8(ascii: ":"), "':'")
            position += 1
            skipWhitespace()
        }

        /// After a member or element: skips whitespace and then `,` (false: another one follows) or
        /// `close` (true: the object or array has ended).
        @inline(__always)
        mutating func endOfMember(closing close: UInt8) throws(JSONError) -> Bool {
            skipWhitespace()
            guard position < bytes.count else {
                let container = close == UInt8(ascii: "}") ? "object" : "array"
                throw error(.unexpectedEnd, "unexpected end of input in \(container)")
            }
            let byte = bytes[position]
            guard byte == UInt8(ascii: ",") || byte == close else {
                throw error(
                    .unexpectedCharacter,
                    describeUnexpected() + ", expected ',' or '\(Character(Unicode.Scalar(close)))'")
            }
            position += 1
            return byte == close
        }

        mutating func parseObject(depth: Int) throws(JSONError) -> Value {
            if depth > maxDepth { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
            position += 1  // '{'
            // Room for a whole telemetry message at the top; nested objects are usually small.
            var object = JSONObject(minimumCapacity: depth == 1 ? 16 : 4)
            // One bit per key hash seen in this object: while every key is ASCII, a key whose bit
            // is clear is new, so it is appended without comparing it to every earlier key.
            var seen: (low: UInt64, high: UInt64) = (0, 0)
            var keysAreASCII = true
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(object)
            }
            while true {
                try expectKey()
                let key = try parseString()
                let hash = stringHash
                keysAreASCII = keysAreASCII && stringIsASCII
                try expectColon()
                let value = try parseValue(depth: depth)
                let bit: UInt64 = 1 << UInt64(hash & 63)
                let isNew = keysAreASCII && (hash < 64 ? seen.low & bit == 0 : seen.high & bit == 0)
                if isNew {
                    if hash < 64 { seen.low |= bit } else { seen.high |= bit }
                    object.appendUnique(key: key, value: value)
                } else {
                    object[key] = value  // maybe a duplicate: the last value wins, at the first position
                }
                if try endOfMember(closing: UInt8(ascii: "}")) { return .object(object) }
            }
        }

        mutating func parseArray(depth: Int) throws(JSONError) -> Value {
            if depth > maxDepth { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
            position += 1  // '['
            var array: [Value] = []
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(array)
            }
            array.reserveCapacity(4)
            while true {
                skipWhitespace()
                array.append(try parseValue(depth: depth))
                if try endOfMember(closing: UInt8(ascii: "]")) { return .array(array) }
            }
        }

        // MARK: Strings

        /// Parses a string starting at the opening quote; sets ``stringHash`` and ``stringIsASCII``.
        mutating func parseString() throws(JSONError) -> String {
            position += 1  // opening quote
            let start = position
            stringIsASCII = true
            // Fast path: no escapes. Skip eight plain ASCII bytes at a time, then look at one byte.
            while true {
                while position &+ 8 <= bytes.count, !Self.needsAttention(Self.word(bytes, at: position)) {
                    position &+= 8
                }
                guard position < bytes.count else { break }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                    position += 1
                    stringHash = Self.hash(slice)
                    return String(decoding: slice, as: UTF8.self)
                } else if byte == UInt8(ascii: "\\") {
                    return try parseEscapedString(start: start)
                } else if byte < 0x20 {
                    throw error(.controlCharacterInString, "control character in string; it must be escaped")
                } else if byte < 0x80 {
                    position += 1
                } else {
                    stringIsASCII = false
                    try skipUTF8Sequence()
                }
            }
            throw error(.unexpectedEnd, "unterminated string", at: start - 1)
        }

        /// The eight bytes at `offset` (which must have eight bytes after it).
        @inline(__always)
        static func word(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64 {
            // A buffer with bytes in it has a base address.
            UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(as: UInt64.self))
        }

        /// Whether any of the eight bytes is a quote, a backslash, a control character or not ASCII.
        @inline(__always)
        static func needsAttention(_ word: UInt64) -> Bool {
            attentionMask(word) != 0
        }

        /// The high bit of each byte (little-endian order) that may be a quote, a backslash, a
        /// control character or not ASCII; the lowest set bit marks the first such byte exactly
        /// (the subtraction's borrows only ever flag bytes after a real hit).
        @inline(__always)
        static func attentionMask(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let hasQuote = (quotes &- ones) & ~quotes
            let hasBackslash = (backslashes &- ones) & ~backslashes
            let hasControl = (word &- ones &* 0x20) & ~word
            return (hasQuote | hasBackslash | hasControl | word) & high
        }

        /// A 7-bit hash of a decoded string, from its length and three of its bytes.
        @inline(__always)
        static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            let count = bytes.count
            var h = UInt32(truncatingIfNeeded: count) &* 0x9E37_79B1
            if count > 0 {
                h ^= UInt32(bytes[0]) &* 0x85EB_CA77
                h ^= UInt32(bytes[count &- 1]) &* 0xC2B2_AE3D
                h ^= UInt32(bytes[count >> 1]) &* 0x27D4_EB2F
            }
            return Int((h ^ (h >> 15)) >> 9 & 127)
        }

        /// Validates one multi-byte UTF-8 sequence at `position` and moves past it.
        @inline(__always)
        mutating func skipUTF8Sequence() throws(JSONError) {
            let b0 = bytes[position]
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: throw error(.invalidUTF8, "invalid UTF-8 byte")
            }
            guard position + length <= bytes.count else { throw error(.invalidUTF8, "truncated UTF-8 sequence") }
            let b1 = bytes[position + 1]
            guard b1 >= lower && b1 <= upper else { throw error(.invalidUTF8, "invalid UTF-8 sequence") }
            for i in 2..<length where bytes[position + i] & 0xC0 != 0x80 {
                // Reported, like every UTF-8 error, at the first byte of the ill-formed sequence.
                throw error(.invalidUTF8, "invalid UTF-8 sequence")
            }
            position += length
        }

        mutating func parseEscapedString(start: Int) throws(JSONError) -> String {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    stringHash = scratch.withUnsafeBufferPointer { Self.hash($0) }
                    stringIsASCII = scratch.allSatisfy { $0 < 0x80 }
                    return String(decoding: scratch, as: UTF8.self)
                } else if byte == UInt8(ascii: "\\") {
                    try parseEscape()
                } else if byte < 0x20 {
                    throw error(.controlCharacterInString, "control character in string; it must be escaped")
                } else if byte < 0x80 {
                    scratch.append(byte)
                    position += 1
                } else {
                    let begin = position
                    try skipUTF8Sequence()
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[begin..<position]))
                }
            }
            throw error(.unexpectedEnd, "unterminated string", at: start - 1)
        }

        mutating func parseEscape() throws(JSONError) {
            let escapeStart = position
            position += 1  // backslash
            guard position < bytes.count else { throw error(.unexpectedEnd, "unterminated escape") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4(escapeStart: escapeStart)
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error(.invalidEscape, "unpaired surrogate in \\u escape", at: escapeStart) }
                    position += 2
                    let low = try parseHex4(escapeStart: escapeStart)
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw error(.invalidEscape, "unpaired surrogate in \\u escape", at: escapeStart)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw error(.invalidEscape, "unpaired surrogate in \\u escape", at: escapeStart)
                }
                appendUTF8(scalar)
            default:
                throw error(.invalidEscape, "invalid escape sequence", at: escapeStart)
            }
        }

        mutating func parseHex4(escapeStart: Int) throws(JSONError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                // Only the end of the input is "unexpected end"; `"\u12"` is a bad escape.
                guard position < bytes.count else { throw error(.unexpectedEnd, "truncated \\u escape") }
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error(.invalidEscape, "invalid hex digit in \\u escape", at: escapeStart)
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        mutating func appendUTF8(_ scalar: UInt32) {
            switch scalar {
            case 0..<0x80:
                scratch.append(UInt8(scalar))
            case 0x80..<0x800:
                scratch.append(UInt8(0xC0 | (scalar >> 6)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            case 0x800..<0x10000:
                scratch.append(UInt8(0xE0 | (scalar >> 12)))
                scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            default:
                scratch.append(UInt8(0xF0 | (scalar >> 18)))
                scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            }
        }

        // MARK: Numbers

        mutating func parseNumber() throws(JSONError) -> Value {
            let start = position
            var negative = false
            if bytes[position] == UInt8(ascii: "-") {
                negative = true
                position += 1
            }
            guard position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 else {
                throw error(.invalidNumber, "invalid number: expected a digit", at: position)
            }
            // Integer part.
            var mantissa: UInt64 = 0
            var digits = 0
            var overflow = false
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
                    throw error(.invalidNumber, "invalid number: leading zero", at: start)
                }
            } else {
                while position < bytes.count {
                    let d = bytes[position] &- UInt8(ascii: "0")
                    guard d < 10 else { break }
                    if digits < 19 {
                        mantissa = mantissa &* 10 &+ UInt64(d)
                    } else {
                        overflow = true
                    }
                    digits += 1
                    position += 1
                }
            }
            var isInteger = true
            var fractionDigits = 0
            if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                let fractionStart = position
                while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
                    if digits < 19 {
                        mantissa = mantissa &* 10 &+ UInt64(bytes[position] &- UInt8(ascii: "0"))
                        fractionDigits += 1
                        if mantissa != 0 || digits > 0 { digits += 1 }
                    } else {
                        overflow = true
                    }
                    position += 1
                }
                if position == fractionStart {
                    throw error(.invalidNumber, "invalid number: expected a digit after '.'", at: position)
                }
            }
            var exponent = 0
            if position < bytes.count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
                isInteger = false
                position += 1
                var exponentNegative = false
                if position < bytes.count
                    && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
                {
                    exponentNegative = bytes[position] == UInt8(ascii: "-")
                    position += 1
                }
                let exponentStart = position
                while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
                    if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[position] &- UInt8(ascii: "0")) }
                    position += 1
                }
                if position == exponentStart {
                    throw error(.invalidNumber, "invalid number: expected a digit in the exponent", at: position)
                }
                if exponentNegative { exponent = -exponent }
            }
            if isInteger && !overflow {
                if negative {
                    if mantissa <= UInt64(Int64.max) + 1 {
                        return .int(mantissa == UInt64(Int64.max) + 1 ? .min : -Int64(mantissa))
                    }
                } else if mantissa <= UInt64(Int64.max) {
                    return .int(Int64(mantissa))
                }
            }
            // Exact fast path (Clinger): mantissa < 2^53 and a power of ten that is exact in a Double.
            if !overflow && mantissa < (1 << 53) {
                let power = exponent - fractionDigits
                if power >= -22 && power <= 22 {
                    var value = Double(mantissa)
                    if power < 0 { value /= Self.powersOfTen[-power] } else { value *= Self.powersOfTen[power] }
                    return .double(negative ? -value : value)
                }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            // A magnitude beyond Double would become infinity, which has no JSON form.
            guard let value = Double(text), value.isFinite else {
                throw error(.invalidNumber, "number out of range", at: start)
            }
            return .double(value)
        }

        static let powersOfTen: [Double] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
            1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ]
    }
}
