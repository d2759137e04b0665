extension ShadowKey {
    /// Checks the thing and shadow names against AWS's patterns: thing names `[a-zA-Z0-9:_-]`,
    /// 1–128 characters; shadow names `[$a-zA-Z0-9:_-]`, 1–64 characters (lengths configurable).
    ///
    /// - Throws: ``ShadowError`` 400 naming the rule that was broken.
    package func validate(_ limits: ShadowLimits) throws(ShadowError) {
        guard Self.isValid(thing, allowingDollar: false, maxLength: limits.maxThingNameLength) else {
            throw ShadowError(
                .badRequest,
                "Invalid thing name: use 1 to \(limits.maxThingNameLength) characters from a-z, A-Z, 0-9, ':', '_', '-'"
            )
        }
        if let name, !Self.isValid(name, allowingDollar: true, maxLength: limits.maxShadowNameLength) {
            throw ShadowError(
                .badRequest,
                "Invalid shadow name: use 1 to \(limits.maxShadowNameLength) characters from a-z, A-Z, 0-9, '$', ':', '_', '-'"
            )
        }
    }

    /// Whether `name` is 1…`maxLength` characters of `[a-zA-Z0-9:_-]` (and `$` when allowed).
    package static func isValid(_ name: String, allowingDollar: Bool, maxLength: Int) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            case UInt8(ascii: "$") where allowingDollar:
                continue
            default:
                return false
            }
        }
        return true
    }
}
