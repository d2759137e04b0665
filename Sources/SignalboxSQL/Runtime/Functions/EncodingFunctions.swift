import SignalboxJSON

/// The SQL functions `encode(value, 'base64')` and `decode(value, 'base64')`.
///
/// `encode` converts its value To String and base64-encodes the UTF-8 bytes (`encode(*, 'base64')`,
/// which encodes the raw payload, is compiled specially and uses ``Base64/encode(_:)`` directly).
/// `decode` returns the decoded JSON value when the decoded bytes are a JSON document, otherwise the
/// decoded text, and Null when the input is not valid base64 (or decodes to bytes that are not
/// UTF-8). The scheme name matches in any letter case; any other scheme, including AWS's
/// cloud-only `'proto'`, gives Undefined.
enum EncodingFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(
            name: "encode", arity: 2...2,
            body: .binary { value, scheme in
                guard isBase64(scheme), let s = Conversions.toString(value) else { return nil }
                return .string(Base64.encode(s.utf8))
            }),
        BuiltinFunction(
            name: "decode", arity: 2...6,
            body: .general { arguments, _ in
                guard arguments.count == 2, isBase64(arguments[1]) else { return nil }
                return decodeBase64(arguments[0])
            }),
    ]

    /// Whether a scheme argument is the string "base64" (any case).
    static func isBase64(_ scheme: Value?) -> Bool {
        guard case .string(let s) = scheme, s.utf8.count == 6 else { return false }
        return s.lowercased() == "base64"
    }

    /// `decode(value, 'base64')`.
    static func decodeBase64(_ value: Value?) -> Value? {
        guard let text = Conversions.toString(value) else { return nil }
        guard let bytes = Base64.decode(text) else { return .null }
        if let json = try? JSONParser.parse(bytes) { return json }
        guard let string = String(validating: bytes, as: UTF8.self) else { return .null }
        return .string(string)
    }
}

/// Base64 (RFC 4648, standard alphabet, with padding), without Foundation.
///
/// For example:
/// ```swift
/// Base64.encode(Array("hi".utf8))   // "aGk="
/// Base64.decode("aGk=")             // [104, 105]
/// ```
package enum Base64 {
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Maps an ASCII byte to its 6-bit value, or 0xFF when it is not in the alphabet.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(i) }
        return table
    }()

    /// The base64 text of `bytes`, padded with `=`.
    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        let count = bytes.count
        let outputCount = (count + 2) / 3 * 4
        if outputCount == 0 { return "" }
        return String(unsafeUninitializedCapacity: outputCount) { out in
            alphabet.withUnsafeBufferPointer { table in
                var o = 0
                var iterator = bytes.makeIterator()
                while let b0 = iterator.next() {
                    let b1 = iterator.next()
                    let b2 = iterator.next()
                    let n = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
                    out[o] = table[Int(n >> 18 & 0x3F)]
                    out[o + 1] = table[Int(n >> 12 & 0x3F)]
                    out[o + 2] = b1 == nil ? UInt8(ascii: "=") : table[Int(n >> 6 & 0x3F)]
                    out[o + 3] = b2 == nil ? UInt8(ascii: "=") : table[Int(n & 0x3F)]
                    o += 4
                }
            }
            return outputCount
        }
    }

    /// The bytes `string` encodes, or nil if it is not base64.
    ///
    /// As Java's basic decoder: the standard alphabet only (no white space or line breaks); padding
    /// is optional, but if present must be complete and only at the end.
    package static func decode(_ string: String) -> [UInt8]? {
        var utf8 = Substring(string).utf8[...]
        var padding = 0
        while utf8.last == UInt8(ascii: "=") && padding < 2 {
            utf8 = utf8.dropLast()
            padding += 1
        }
        let count = utf8.count
        if padding > 0 && (count + padding) % 4 != 0 { return nil }
        if count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in utf8 {
            let sextet = reverse[Int(byte)]
            guard sextet != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(sextet)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }
}
