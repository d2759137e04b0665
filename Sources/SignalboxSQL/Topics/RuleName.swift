/// What a rule name may be, wherever one is given (rules.yaml, a Basic Ingest topic, the admin API):
/// `[A-Za-z0-9_-]`, 1 to 128 characters; AWS IoT's rule names are the same without `-`.
package enum RuleName {
    /// The longest rule name, in bytes (every allowed character is one byte).
    package static let maxBytes = 128

    /// Whether `byte` may appear in a rule name.
    package static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// Whether `name` is a valid rule name.
    package static func isValid(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.count <= maxBytes && name.utf8.allSatisfy(isNameByte)
    }
}
