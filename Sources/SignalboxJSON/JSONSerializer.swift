/// Serializes ``Value`` to JSON text.
///
/// Output round-trips through ``JSONParser``: integers print as integers, decimals always carry a
/// fraction or an exponent (`2.0`, `1e-07`), strings escape only what JSON requires. Non-finite
/// decimals have no JSON form and print as `null`.
public enum JSONSerializer {
    /// Output layout.
    public struct Options: Sendable {
        /// Indent nested values with this many spaces per level; `nil` for compact output.
        public var indent: Int?
        /// Sort object keys (for stable golden output); document order otherwise.
        public var sortKeys: Bool

        public init(indent: Int? = nil, sortKeys: Bool = false) {
            self.indent = indent
            self.sortKeys = sortKeys
        }

        /// Compact output in document order.
        public static let compact = Options()
        /// Two-space indentation in document order.
        public static let pretty = Options(indent: 2)
    }

    /// The value as UTF-8 bytes.
    public static func bytes(_ value: Value, options: Options = .compact) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        append(value, to: &output, options: options)
        return output
    }

    /// The value as a string.
    public static func string(_ value: Value, options: Options = .compact) -> String {
        String(decoding: bytes(value, options: options), as: UTF8.self)
    }

    /// Appends the serialized value to `output`.
    public static func append(_ value: Value, to output: inout [UInt8], options: Options = .compact) {
        write(value, to: &output, options: options, level: 0)
    }

    static func write(_ value: Value, to output: inout [UInt8], options: Options, level: Int) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let b): output.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .int(let i): appendInteger(i, to: &output)
        case .double(let d): appendDouble(d, to: &output)
        case .string(let s): appendString(s, to: &output)
        case .array(let array):
            if array.isEmpty {
                output.append(contentsOf: "[]".utf8)
                return
            }
            output.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(&output, options: options, level: level + 1)
                write(element, to: &output, options: options, level: level + 1)
            }
            newline(&output, options: options, level: level)
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty {
                output.append(contentsOf: "{}".utf8)
                return
            }
            output.append(UInt8(ascii: "{"))
            let members = options.sortKeys ? object.members.sorted { $0.key < $1.key } : object.members
            for (i, member) in members.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(&output, options: options, level: level + 1)
                appendString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                if options.indent != nil { output.append(UInt8(ascii: " ")) }
                write(member.value, to: &output, options: options, level: level + 1)
            }
            newline(&output, options: options, level: level)
            output.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    static func newline(_ output: inout [UInt8], options: Options, level: Int) {
        guard let indent = options.indent else { return }
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }

    /// Appends the decimal digits of `value`.
    public static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        if value == 0 {
            output.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch for up to 20 digits
        let count = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var i = raw.count
            while magnitude > 0 {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            output.append(contentsOf: raw[i...])
            return raw.count - i
        }
        _ = count
    }

    /// Appends the shortest text that reads back as `value` (always with a fraction or exponent).
    public static func appendDouble(_ value: Double, to output: inout [UInt8]) {
        guard value.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        // Swift's description is the shortest round-tripping form ("2.0", "1e-07", "1.5e+300").
        output.append(contentsOf: value.description.utf8)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `string` as a quoted, escaped JSON string.
    public static func appendString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                switch byte {
                case 0x22: output.append(contentsOf: #"\""#.utf8)
                case 0x5C: output.append(contentsOf: #"\\"#.utf8)
                case 0x0A: output.append(contentsOf: #"\n"#.utf8)
                case 0x0D: output.append(contentsOf: #"\r"#.utf8)
                case 0x09: output.append(contentsOf: #"\t"#.utf8)
                case 0x08: output.append(contentsOf: #"\b"#.utf8)
                case 0x0C: output.append(contentsOf: #"\f"#.utf8)
                default:
                    output.append(contentsOf: #"\u00"#.utf8)
                    output.append(hexDigits[Int(byte >> 4)])
                    output.append(hexDigits[Int(byte & 0xF)])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        output.append(UInt8(ascii: "\""))
    }
}
