import SignalboxCore

/// The opaque `nextToken` of `ListNamedShadowsForThing`: the last name of the previous page, hex-encoded.
enum PageToken {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The token that continues after `name`.
    static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count * 2)
        for byte in name.utf8 {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The name a token continues after, or `nil` when the token is not one of ours.
    static func decode(_ token: String) -> String? {
        let hex = Array(token.utf8)
        guard !hex.isEmpty, hex.count % 2 == 0, hex.count <= 256 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var i = 0
        while i < hex.count {
            guard let high = digits.firstIndex(of: hex[i]), let low = digits.firstIndex(of: hex[i + 1]) else {
                return nil
            }
            bytes.append(UInt8(high << 4 | low))
            i += 2
        }
        let name = String(decoding: bytes, as: UTF8.self)
        return ShadowKey.isValid(name, allowingDollar: true, maxLength: 128) ? name : nil
    }
}
