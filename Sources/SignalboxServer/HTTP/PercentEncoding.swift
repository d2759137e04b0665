/// Percent-decoding of raw path segments and query parts, and AWS-style percent-encoding.
package enum PercentEncoding {
    /// Decodes `%XX` escapes; `nil` for a malformed escape or bytes that are not UTF-8.
    package static func decode(_ text: Substring) -> String? {
        guard let bytes = decodeBytes(text) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Decodes `%XX` escapes into bytes; `nil` for a malformed escape.
    package static func decodeBytes(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return out
    }

    /// Encodes every byte outside `A-Z a-z 0-9 - _ . ~` and `keeping` as `%XX` (upper-case hex).
    package static func encode(_ text: String, keeping: String) -> String {
        encode(Array(text.utf8), keeping: keeping)
    }

    /// Encodes every byte outside `A-Z a-z 0-9 - _ . ~` and `keeping` as `%XX` (upper-case hex).
    package static func encode(_ bytes: [UInt8], keeping: String) -> String {
        let kept = Set(keeping.utf8)
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if isUnreserved(byte) || kept.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
